"""The bulk path for CSV settlement exports: whole blocks of rows read and validated by Arrow.

The row-by-row validator (``settlement_record.parse_settlement``) costs about 100 microseconds a
row in Python; a city-year is ten million rows. Here Arrow's CSV reader parses blocks on every
core and each rule of ``parse_settlement`` runs over whole columns. This path never explains:
at the first row it would not take exactly as the row path takes it, it stops (``Irregular``)
and the import is handed, whole, to the row path, which names every problem with its line. So
it may turn away more than the row path (a padded amount, an unknown extra column, a quoted
line break: the row path then decides), never accept more, and what it stores is what the row
path stores (tests/test_bulk_import.py runs both on the same files and compares the registers).

Pure apart from reading the file: no database here. Money goes from text to exact integer fen
through Arrow's decimal type, never through a float.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from importers.fields import CODE_CHARACTERS
from importers.settlements.rules import (
    DATE_PATTERN,
    DATE_STRPTIME,
    FLAGS,
    HOSPITAL,
    HOSPITAL_LEVELS,
    INSTITUTION_TYPES,
    INSUTYPE_EMPLOYEE,
    KNOWN_FIELDS,
    MONEY_IDENTITIES,
    OPTIONAL_TEXT,
    OTHER_TYPED,
    PHARMACY,
    RATIO_PLACES,
    REQUIRED_MONEY,
    REQUIRED_TEXT,
    TEXT_FIELDS,
    TIME_PATTERN,
    TIME_STRPTIME,
    TYPED_TEXT,
    YUAN_DIGITS,
    code_notice,
)
from importers.sources import csv_dialect, decode_sample, detect_encoding, read_sample
from ledger.register.models import MONEY_FIELDS

# Arrow parses 1 MiB blocks (measured fastest here: they stay in the CPU's caches) and the
# checks run over about 50,000 rows at a time (fewer calls); memory stays a few blocks.
BLOCK_BYTES = 1 << 20
BLOCK_ROWS = 32_000

#: What ``str.strip()`` strips: every character for which ``str.isspace()`` is true.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
ASCII_WHITESPACE = "".join(c for c in WHITESPACE if c.isascii())
CODE_PATTERN = r"^[!-~]*$"
TEXT = (*REQUIRED_TEXT, *OPTIONAL_TEXT)
#: Every byte of a platform code is one of these (importers.fields.CODE_CHARACTERS).
CODE_BYTES = bytes(sorted(ord(c) for c in CODE_CHARACTERS))
TOTAL_KEY = ("setl_period", "fixmedins_code", "clr_type", "med_type")


class Irregular(Exception):
    """A file or row the bulk path does not take; the row path will say what is wrong."""


@dataclass(frozen=True)
class KnownInstitution:
    name: str
    fixmedins_type: str
    medins_lv: str | None


@dataclass(frozen=True)
class CsvShape:
    """What the bulk path needs to know of a CSV file before reading it."""

    path: Path
    encoding: str
    delimiter: str  # the rest is RFC 4180, as the row path reads it (sources.csv_dialect)
    columns: tuple[str, ...]  # lower-cased, stripped, as the row path names them


@dataclass
class Institutions:
    """The register's institutions, and those a file describes for the first time (in the
    order of their first row), as the row path registers them."""

    known: dict[str, KnownInstitution]
    new: dict[str, KnownInstitution] = field(default_factory=dict)


@dataclass
class Block:
    """One block of validated rows, in the register's own column types."""

    table: pa.Table
    notices: Counter[tuple[str, str, str]]
    totals: pa.Table  # TOTAL_KEY, then TOTAL_FIGURES
    periods: set[str]
    # institutions this block describes for the first time, to register before its rows
    new_institutions: list[tuple[str, KnownInstitution]] = field(default_factory=list)


def csv_shape(path: Path) -> CsvShape:
    """The file's encoding, dialect and header, decided as ``sources._open_csv`` decides them;
    ``Irregular`` for what the row path reads differently or refuses."""
    with path.open("rb") as handle:
        sample = read_sample(handle)
    try:
        encoding = detect_encoding(sample)
    except ValueError as exc:
        raise Irregular(str(exc)) from None
    text = decode_sample(sample, encoding)
    first_line = text.split("\n", 1)[0]
    dialect = csv_dialect(first_line)
    try:
        header = next(csv.reader([first_line.rstrip("\r")], dialect))
    except (csv.Error, StopIteration):
        raise Irregular("no readable header") from None
    columns = tuple(name.strip().lower() for name in header)
    if len(set(columns)) != len(columns):
        raise Irregular("duplicate columns")
    unknown = [c for c in columns if c not in KNOWN_FIELDS]
    if unknown:
        raise Irregular(f"columns kept as extra: {', '.join(unknown[:3])}")
    missing = [c for c in (*REQUIRED_TEXT, *REQUIRED_MONEY) if c not in columns]
    if missing:
        raise Irregular(f"missing columns: {', '.join(missing)}")
    return CsvShape(
        path,
        "utf8" if encoding == "utf-8-sig" else encoding.replace("-", ""),
        dialect.delimiter,
        columns,
    )


def read_blocks(shape: CsvShape, institutions: Institutions) -> Iterator[Block]:
    """Validated blocks of the file, in file order, without their file_id (the caller adds
    it); ``Irregular`` at the first row the row path would take otherwise. Line numbers
    assume one line a row: the caller checks that the file's line count agrees once the last
    block is read."""
    options = pa_csv.ReadOptions(
        block_size=BLOCK_BYTES,
        column_names=list(shape.columns),
        skip_rows=1,
        encoding=shape.encoding,
        # parsed on the reading thread itself: the database's thread has the other core
        use_threads=False,
    )
    parse = pa_csv.ParseOptions(
        delimiter=shape.delimiter, quote_char='"', double_quote=True, newlines_in_values=False
    )
    convert = pa_csv.ConvertOptions(
        column_types={name: pa.string() for name in shape.columns},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        reader = pa_csv.open_csv(
            shape.path, read_options=options, parse_options=parse, convert_options=convert
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise Irregular(f"CSV: {exc}") from None
    line = 2
    pending: list[pa.RecordBatch] = []
    count = 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise Irregular(f"CSV: {exc}") from None
        pending.append(batch)
        count += batch.num_rows
        if count >= BLOCK_ROWS:
            yield validate_block(pa.Table.from_batches(pending), line, institutions)
            line += count
            pending, count = [], 0
    if count:
        yield validate_block(pa.Table.from_batches(pending), line, institutions)


def _stripped(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """``str.strip()`` of every value; the ASCII trim (four times faster) where the column is
    ASCII throughout, as codes, amounts and times are."""
    if all(_ascii_bytes(chunk) for chunk in column.chunks):
        return pc.ascii_trim(column, ASCII_WHITESPACE)
    return pc.utf8_trim(column, WHITESPACE)


def _ascii_bytes(chunk: pa.Array) -> bool:
    """No byte above 127 in the chunk's text: Python's check of a whole buffer is a few times
    faster than Arrow's of each value. The buffer may hold bytes outside the chunk, so a
    False may be wrong, never a True."""
    data = chunk.buffers()[2]
    return data is None or data.to_pybytes().isascii()


def _chunks(column: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return list(column.chunks) if isinstance(column, pa.ChunkedArray) else [column]


def _check_codes(column: pa.ChunkedArray, length: int, name: str) -> None:
    """Platform codes only (printable ASCII, no space) of at most ``length`` characters; the
    row path names the character and its position."""
    for chunk in _chunks(column):
        data = chunk.buffers()[2]
        # Deleting every code byte leaves nothing: the whole buffer is codes (it may hold
        # bytes outside the chunk, so leftovers are looked at value by value).
        if data is not None and data.to_pybytes().translate(None, CODE_BYTES):
            _fail(pc.invert(pc.match_substring_regex(chunk, CODE_PATTERN)), f"{name}: not a code")
    _fail(pc.greater(pc.binary_length(column), length), f"{name}: too long")


def _check_text(column: pa.ChunkedArray, length: int | None, name: str) -> None:
    """Text the register can store (no NUL) of at most ``length`` characters."""
    for chunk in _chunks(column):
        data = chunk.buffers()[2]
        if data is not None and b"\x00" in data.to_pybytes():
            _fail(pc.match_substring(chunk, "\x00"), f"{name}: NUL")
    if length is not None:
        _fail(pc.greater(pc.utf8_length(column), length), f"{name}: too long")


def _fail(condition: pa.Array | pa.ChunkedArray, why: str) -> None:
    if pc.any(condition).as_py():
        raise Irregular(why)


def _money(text: pa.Array, name: str, required: bool, places: int = 2) -> pa.Array:
    """Exact scaled integers of an amount column; empty is zero (None for the ratio)."""
    empty = pc.equal(text, "")
    if required:
        _fail(empty, f"{name}: empty")
    if pc.all(pc.equal(text, "0.00")).as_py():
        return pa.repeat(pa.scalar(0, pa.int64()), len(text))
    if places == 2:
        # The usual form, yuan with exactly two decimals (the row path's plain form): the fen
        # are the digits without the point. A second point, a letter or a sign other than a
        # leading minus make the integer cast fail; then the import goes to the row path.
        point = pc.find_substring(text, ".")
        length = pc.binary_length(text)
        if pc.all(pc.equal(point, pc.subtract(length, 3))).as_py():
            # a sign, the yuan digits, the point and two decimals
            _fail(pc.greater(length, YUAN_DIGITS + 4), f"{name}: too many digits")
            # The point cut out by position, not searched for again: half the time, on the
            # bytes (Arrow's string kernel of the same cut is as slow as the search).
            digits = pc.binary_replace_slice(_viewed(text, pa.binary()), -3, -2, b"")
            try:
                return pc.cast(_viewed(digits, pa.string()), pa.int64())
            except pa.ArrowInvalid:
                raise Irregular(f"{name}: not an amount") from None
    # Forms the row path reads otherwise or refuses: exponents, and more decimals than
    # allowed even when they are zeros ("1.230" is refused there, not rounded).
    for letter in "eE":
        _fail(pc.greater_equal(pc.find_substring(text, letter), 0), f"{name}: exponent")
    point = pc.find_substring(text, ".")
    decimals = pc.subtract(pc.subtract(pc.utf8_length(text), point), 1)
    _fail(pc.and_(pc.greater_equal(point, 0), pc.greater(decimals, places)), f"{name}: decimals")
    filled = pc.if_else(empty, "0", text)
    try:
        # YUAN_DIGITS digits of yuan, as the row path's plain form; more is refused by the cast
        value = pc.cast(filled, pa.decimal128(YUAN_DIGITS + places, places))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise Irregular(f"{name}: not an amount") from None
    return _unscaled(value)


def _viewed(column: pa.Array | pa.ChunkedArray, kind: pa.DataType) -> pa.ChunkedArray:
    """The same bytes as another type of the same layout (string and binary), no copy."""
    return pa.chunked_array([chunk.view(kind) for chunk in _chunks(column)], kind)


def _unscaled(value: pa.Array) -> pa.Array:
    """A decimal128 column's unscaled integers (the fen), read from its 16-byte little-endian
    words: the values have at most 17 digits, so the low word is the whole number."""
    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    words = pa.Array.from_buffers(
        pa.int64(), 2 * (len(value) + value.offset), [None, value.buffers()[1]]
    )
    low = pc.list_element(pa.FixedSizeListArray.from_arrays(words, 2), 0)
    return low.slice(value.offset, len(value))


def _real_moments(text: pa.Array, form: str, name: str) -> None:
    """Refuse texts of the right form that name no real moment ("2023-02-30"): Arrow's
    strptime rolls such a day over into the next month, where its day of the month differs
    from the one written. Only days 29-31 can roll over (the pattern bounds day and month)."""
    parsed = pc.strptime(text, form, "s", error_is_null=True)
    _fail(pc.is_null(parsed), f"{name}: not a moment")
    written_day = pc.utf8_slice_codeunits(text, 8, 10)
    late = pc.greater(written_day, "28")
    if pc.any(late).as_py():
        day = pc.day(pc.filter(parsed, late))
        _fail(pc.not_equal(day, pc.cast(pc.filter(written_day, late), pa.int64())), f"{name}: day")


def _nullable(text: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def validate_block(
    batch: pa.Table,
    first_line: int,
    institutions: Institutions,
) -> Block:
    """One block through ``rules`` as the row path runs them (``Irregular`` at the first rule
    a row breaks), in the register's column types."""
    rows = batch.num_rows
    raw = {name: batch.column(name) for name in batch.schema.names}
    text = _text_columns(raw, rows)
    columns: dict[str, pa.Array] = {}
    for name in TEXT:
        columns[name] = text[name] if name in REQUIRED_TEXT else _nullable(text[name])
    for name in MONEY_FIELDS:
        source = raw.get(name)
        if source is None:
            columns[name] = pa.repeat(pa.scalar(0, pa.int64()), rows)
        else:
            # Trimmed first: the row path strips every value before reading it.
            columns[name] = _money(_stripped(source), name, name in REQUIRED_MONEY)
    columns["pool_prop_selfpay"] = _ratio(text["pool_prop_selfpay"])
    refund = _flags(text, columns)
    period = _moments(text, columns)
    kind, level = text["fixmedins_type"], text["medins_lv"]
    _fail(pc.invert(pc.is_in(kind, pa.array(["", *INSTITUTION_TYPES]))), "fixmedins_type")
    _fail(pc.invert(pc.is_in(level, pa.array(["", *HOSPITAL_LEVELS]))), "medins_lv")
    _fail(pc.and_(pc.equal(kind, PHARMACY), pc.not_equal(level, "")), "medins_lv: a pharmacy")
    init = text["init_setl_id"]
    _fail(pc.and_(refund, pc.equal(init, "")), "init_setl_id: a refund without it")
    _fail(pc.and_(pc.invert(refund), pc.not_equal(init, "")), "init_setl_id: not a refund")
    _check_amounts(columns, refund)

    registered = len(institutions.new)
    columns["fixmedins_name"] = _institutions(
        text["fixmedins_code"], text["fixmedins_name"], kind, level, institutions
    )
    # No extra columns on this path; SQLAlchemy's JSON type stores a None as JSON null.
    columns["extra"] = pa.repeat(pa.scalar("null", pa.string()), rows)
    columns["line"] = pa.array(range(first_line, first_line + rows), pa.int64())
    table = pa.table(columns)
    return Block(
        table,
        _notices(text["psn_type"], text["med_type"]),
        _totals(table),
        set(pc.unique(period).to_pylist()),
        list(institutions.new.items())[registered:],
    )


def _text_columns(raw: dict[str, pa.ChunkedArray], rows: int) -> dict[str, pa.ChunkedArray]:
    """The block's text: typed fields trimmed, codes and free text as the file has them (nothing
    is trimmed, ``importers.fields``), each checked by its rule; a missing column is empty."""
    empty_text = pa.array([""] * rows, pa.string())
    text = {
        name: _stripped(raw[name]) if name in raw else empty_text
        for name in (*TYPED_TEXT, *OTHER_TYPED)
    }
    for rule in TEXT_FIELDS:
        if rule.kind == "time":
            continue
        value = text[rule.name] = raw.get(rule.name, empty_text)
        if rule.kind == "code":
            _check_codes(value, rule.length or 0, rule.name)
        else:
            _check_text(value, rule.length, rule.name)
    for name in REQUIRED_TEXT:
        _fail(pc.equal(text[name], ""), f"{name}: empty")
    _fail(pc.not_equal(text["insutype"], INSUTYPE_EMPLOYEE), "insutype: not 310")
    return text


def _ratio(ratio: pa.ChunkedArray) -> pa.Array:
    """pool_prop_selfpay in ten-thousandths, 0 to 1; None where empty."""
    empty = pc.equal(ratio, "")
    scaled = _money(ratio, "pool_prop_selfpay", False, places=RATIO_PLACES)
    _fail(
        pc.or_(pc.less(scaled, 0), pc.greater(scaled, 10**RATIO_PLACES)),
        "pool_prop_selfpay: not 0..1",
    )
    _fail(pc.and_(pc.invert(empty), pc.starts_with(ratio, "-")), "pool_prop_selfpay: sign")
    return pc.if_else(empty, pa.scalar(None, pa.int64()), scaled)


def _flags(text: dict[str, pa.ChunkedArray], columns: dict[str, pa.Array]) -> pa.Array:
    """The refund and emergency flags as 0/1 (emergency None where empty); returns the refunds."""
    flag = text["refd_setl_flag"]
    _fail(pc.invert(pc.is_in(flag, pa.array(["", *FLAGS]))), "refd_setl_flag")
    refund = pc.equal(flag, "1")
    columns["refd_setl_flag"] = pc.cast(refund, pa.int64())
    emergency = text["emergency_flag"]
    _fail(pc.invert(pc.is_in(emergency, pa.array(["", *FLAGS]))), "emergency_flag")
    columns["emergency_flag"] = pc.if_else(
        pc.equal(emergency, ""),
        pa.scalar(None, pa.int64()),
        pc.cast(pc.equal(emergency, "1"), pa.int64()),
    )
    return refund


def _moments(text: dict[str, pa.ChunkedArray], columns: dict[str, pa.Array]) -> pa.Array:
    """setl_time (with its period) and rx_date, real moments of the rules' forms; returns the
    periods."""
    setl_time = text["setl_time"]
    _fail(pc.invert(pc.match_substring_regex(setl_time, TIME_PATTERN)), "setl_time: form")
    _real_moments(setl_time, TIME_STRPTIME, "setl_time")
    # As SQLAlchemy writes a DateTime to SQLite; PostgreSQL reads the same text.
    columns["setl_time"] = pc.binary_join_element_wise(setl_time, ".000000", "")
    period = pc.utf8_slice_codeunits(setl_time, 0, 7)
    columns["setl_period"] = period
    rx_date = text["rx_date"]
    rx_given = pc.not_equal(rx_date, "")
    _fail(pc.and_(rx_given, pc.invert(pc.match_substring_regex(rx_date, DATE_PATTERN))), "rx_date")
    _real_moments(pc.if_else(rx_given, rx_date, "2000-01-01"), DATE_STRPTIME, "rx_date")
    columns["rx_date"] = _nullable(rx_date)
    return period


def _check_amounts(columns: dict[str, pa.Array], refund: pa.Array) -> None:
    """The sign rules (a refund's amounts <= 0, others >= 0) and the money identities."""
    for name in MONEY_FIELDS:
        value = columns[name]
        _fail(pc.and_(refund, pc.greater(value, 0)), f"{name}: positive refund")
        _fail(pc.and_(pc.invert(refund), pc.less(value, 0)), f"{name}: negative")
    for total, parts in MONEY_IDENTITIES:
        summed = columns[parts[0]]
        for part in parts[1:]:
            summed = pc.add(summed, columns[part])
        _fail(pc.not_equal(columns[total], summed), f"{total}: does not add up")


def _institutions(
    code: pa.Array, name: pa.Array, kind: pa.Array, level: pa.Array, book: Institutions
) -> pa.Array:
    """The row path's ``institution_of`` over a block: rows describing an institution unknown
    to the register register it (the first such row's name, type, level); described rows must
    agree with the register; undescribed rows need a known one. Returns fixmedins_name, the
    register's name where the row has none."""
    if _all_known(code, kind, level, book):
        return _named(code, name, book)
    described = pc.not_equal(kind, "")
    combos = (
        pa.table(
            {
                "code": code,
                "name": name,
                "kind": kind,
                "level": level,
                "described": described,
                "row": pa.array(range(len(code)), pa.int64()),
            }
        )
        .group_by(["code", "kind", "level", "described"], use_threads=False)
        .aggregate([("row", "min"), ("name", "first")])
        .sort_by("row_min")
    )
    for combo in combos.to_pylist():
        known = book.known.get(combo["code"]) or book.new.get(combo["code"])
        if not combo["described"]:
            if known is None:
                raise Irregular(f"fixmedins_code: unknown {combo['code']}")
            continue
        if combo["kind"] == HOSPITAL and combo["level"] == "":
            raise Irregular("medins_lv: a hospital without its level")
        level_or_none = combo["level"] or None
        if known is None:
            if not combo["name_first"]:
                raise Irregular("fixmedins_name: a new institution without a name")
            book.new[combo["code"]] = KnownInstitution(
                combo["name_first"], combo["kind"], level_or_none
            )
        elif (known.fixmedins_type, known.medins_lv) != (combo["kind"], level_or_none):
            raise Irregular(f"fixmedins_type/medins_lv: differ from {combo['code']}")
    # An undescribed row before the row that registers its institution: the row path refuses.
    return _named(code, name, book)


def _all_known(code: pa.Array, kind: pa.Array, level: pa.Array, book: Institutions) -> bool:
    """Every row names an institution already known, and the rows that describe it agree with
    what is known: the usual block, checked without grouping its rows."""
    every = {**book.known, **book.new}
    position = pc.index_in(code, value_set=pa.array(list(every), pa.string()))
    if position.null_count:
        return False
    kinds = pc.take(pa.array([known.fixmedins_type for known in every.values()]), position)
    levels = pc.take(pa.array([known.medins_lv or "" for known in every.values()]), position)
    agree = pc.or_(pc.equal(kind, ""), pc.and_(pc.equal(kind, kinds), pc.equal(level, levels)))
    return bool(pc.all(agree).as_py())


def _named(code: pa.Array, name: pa.Array, book: Institutions) -> pa.Array:
    missing = pc.equal(name, "")
    if not pc.any(missing).as_py():
        return name
    every = {**book.known, **book.new}
    codes = pa.array(list(every), pa.string())
    names = pa.array([known.name for known in every.values()], pa.string())
    filled = pc.take(names, pc.index_in(code, value_set=codes))
    return pc.if_else(missing, filled, name)


def _notices(psn_type: pa.Array, med_type: pa.Array) -> Counter[tuple[str, str, str]]:
    """The row path's notices, counted: each distinct code of the block asked once."""
    notices: Counter[tuple[str, str, str]] = Counter()
    for name, column in (("psn_type", psn_type), ("med_type", med_type)):
        for value, count in _counts(column):
            message = code_notice(name, value)
            if message is not None:
                notices[(name, value, message)] += count
    return notices


def _counts(values: pa.Array) -> list[tuple[str, int]]:
    if len(values) == 0:
        return []
    counted = pc.value_counts(values)
    return list(
        zip(
            counted.field("values").to_pylist(),
            counted.field("counts").to_pylist(),
            strict=True,
        )
    )


TOTAL_FIGURES = ("settlement_count", "refund_count", *MONEY_FIELDS)


def _totals(table: pa.Table) -> pa.Table:
    """Sums by batch key and med_type (settlement_totals), exact integers, as a table."""
    grouped = table.group_by(list(TOTAL_KEY)).aggregate(
        [("line", "count"), ("refd_setl_flag", "sum"), *((name, "sum") for name in MONEY_FIELDS)]
    )
    return pa.table(
        {
            **{key: grouped[key] for key in TOTAL_KEY},
            "settlement_count": grouped["line_count"],
            "refund_count": grouped["refd_setl_flag_sum"],
            **{name: grouped[f"{name}_sum"] for name in MONEY_FIELDS},
        }
    )


def merge_totals(so_far: pa.Table | None, more: pa.Table) -> pa.Table:
    """Two tables of sums as one, by key: a file's sums stay as small as its keys (a table a
    block would make Python work per key and block: thousands of institutions)."""
    if so_far is None:
        return more
    grouped = (
        pa.concat_tables([so_far, more])
        .group_by(list(TOTAL_KEY))
        .aggregate([(name, "sum") for name in TOTAL_FIGURES])
    )
    return pa.table(
        {
            **{key: grouped[key] for key in TOTAL_KEY},
            **{name: grouped[f"{name}_sum"] for name in TOTAL_FIGURES},
        }
    )


__all__ = [
    "Block",
    "CsvShape",
    "Institutions",
    "Irregular",
    "KnownInstitution",
    "csv_shape",
    "merge_totals",
    "read_blocks",
]

"""Reading settlement exports row by row, whatever their format, without loading them whole.

Formats (domain.md section 2): CSV in UTF-8, UTF-8 with BOM or GB18030 (charset detected by
charset-normalizer, dialect by ``csv.Sniffer``); JSON Lines; a JSON array (streamed by ijson);
raw 2207 responses (``{"output": {"setlinfo": {...}}}``, one per file, per line or in an array);
XLSX (openpyxl read-only). Each row comes out as ``RawRow``: where it is and its fields, keyed
by the lower-case platform field code. JSON numbers are read as Decimal, never float.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import charset_normalizer

from ledger.problems import Problem

SAMPLE_BYTES = 64 * 1024
FORMATS = ("csv", "jsonl", "json", "xlsx")


class SourceError(Exception):
    """The file as a whole cannot be read (not a row's problem)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass(frozen=True)
class RawRow:
    location: str
    fields: dict[str, Any]


def _bad_row(location: str, message: str, found: str = "", expected: str = "") -> RawRow:
    """A row that cannot be read as fields: why travels in its ``_shape`` key."""
    return RawRow(location, {"_shape": message, "_found": found, "_expected": expected})


def shape_problem(raw: RawRow) -> Problem | None:
    """The problem of a row that could not be read as fields, None for a readable row."""
    if "_shape" not in raw.fields:
        return None
    return Problem(
        raw.location,
        "row",
        str(raw.fields["_shape"]),
        str(raw.fields.get("_found", "")),
        str(raw.fields.get("_expected", "")),
    )


def missing_columns(source: Source, required: Iterable[str]) -> list[Problem]:
    """One problem per required column the header lacks (files without a header: none)."""
    if source.columns is None:
        return []
    return [
        Problem(
            f"{source.path}:1",
            name,
            "required column missing from the header",
            "",
            f"a column {name}",
        )
        for name in required
        if name not in source.columns
    ]


def _near(text: str, pos: int) -> str:
    """The text around a JSON syntax error, for the message."""
    return text[max(0, pos - 12) : pos + 8].strip()


@dataclass
class Source:
    """An open export: its format, its columns (where it has a header) and a row iterator."""

    path: Path
    file_format: str
    columns: tuple[str, ...] | None
    rows: Iterator[RawRow]
    _binary: IO[bytes] | None = field(default=None, repr=False)

    def position(self) -> int:
        """Bytes consumed so far, for a progress bar (approximate: reads are buffered)."""
        try:
            return self._binary.tell() if self._binary is not None else 0
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        if self._binary is not None:
            self._binary.close()


def detect_format(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        return "json"
    if suffix == ".xlsx":
        return "xlsx"
    return None


def open_source(path: Path) -> Source:
    file_format = detect_format(path)
    if file_format is None:
        raise SourceError(
            Problem(str(path), "file", "unknown format", path.suffix, ".csv, .jsonl, .json, .xlsx")
        )
    if file_format == "csv":
        return _open_csv(path)
    if file_format == "xlsx":
        return _open_xlsx(path)
    return _open_json(path, file_format)


def detect_encoding(sample: bytes) -> str:
    """UTF-8 with BOM, UTF-8 or GB18030 (Excel exports in China are often GBK).

    Text that is valid UTF-8 is UTF-8: GBK text is practically never valid UTF-8, while
    GB18030 decodes almost any bytes, so a statistical guess could read a UTF-8 file with
    unusual characters as GB18030 and change its text. The sample ends on a line break."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    best = charset_normalizer.from_bytes(sample, cp_isolation=["utf_8", "gb18030"]).best()
    if best is None:
        raise ValueError("neither UTF-8 nor GB18030 text")
    return "utf-8" if best.encoding in ("utf_8", "ascii") else "gb18030"


#: The delimiters an export may use; the header line says which.
DELIMITERS = ",\t;|"


def csv_dialect(header_line: str) -> type[csv.Dialect]:
    """RFC 4180 CSV (quotes doubled inside quoted fields, as every CSV writer writes them) with
    the delimiter the header line uses. Only the delimiter is sniffed: ``csv.Sniffer`` also
    guesses quoting from the line, and a header without quotes made it read doubled quotes in
    the rows as two characters (鞍山市"中心""医院")."""
    try:
        delimiter = csv.Sniffer().sniff(header_line, delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","
    if delimiter == ",":
        return csv.excel
    return type("ExportDialect", (csv.excel,), {"delimiter": delimiter})


def whole_lines(sample: bytes) -> bytes:
    """``sample`` up to its last line break (all of it when it has none): a character cut in two
    at the end would be neither encoding."""
    if b"\n" in sample:
        return sample[: sample.rindex(b"\n") + 1]
    return sample


def read_sample(binary: IO[bytes]) -> bytes:
    """The first SAMPLE_BYTES of an open file for ``detect_encoding``, in whole lines when the
    file may go on beyond them."""
    sample = binary.read(SAMPLE_BYTES)
    return whole_lines(sample) if len(sample) == SAMPLE_BYTES else sample


def decode_sample(sample: bytes, encoding: str) -> str:
    """A sample as text for sniffing the header: bytes that are not ``encoding`` replaced, an
    unfinished last character left out."""
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample)


def _open_csv(path: Path) -> Source:
    binary = path.open("rb")
    sample = read_sample(binary)
    binary.seek(0)
    try:
        encoding = detect_encoding(sample)
    except ValueError as exc:
        binary.close()
        raise SourceError(
            Problem(f"{path}:1", "encoding", str(exc), "", "UTF-8, UTF-8 with BOM or GB18030")
        ) from None
    dialect = csv_dialect(decode_sample(sample, encoding).split("\n", 1)[0])
    text = io.TextIOWrapper(binary, encoding=encoding, newline="")
    reader = csv.reader(text, dialect)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        binary.close()
        raise SourceError(
            Problem(f"{path}:1", "header", "empty file", "", "a header row")
        ) from None
    except UnicodeDecodeError:
        binary.close()
        raise SourceError(
            Problem(f"{path}:1", "encoding", f"not valid {encoding} text", "", "UTF-8 or GB18030")
        ) from None
    duplicates = sorted({n for n in header if header.count(n) > 1})
    if duplicates:
        binary.close()
        raise SourceError(
            Problem(f"{path}:1", "header", "duplicate column", ",".join(duplicates), "each once")
        )

    def rows() -> Iterator[RawRow]:
        line = 1
        try:
            for values in reader:
                line = reader.line_num
                if not any(v.strip() for v in values):
                    continue  # a blank line is not a row
                if len(values) != len(header):
                    yield _bad_row(
                        f"{path}:{line}",
                        "wrong number of values",
                        f"{len(values)} values",
                        f"{len(header)}, one per column of the header",
                    )
                    continue
                yield RawRow(f"{path}:{line}", dict(zip(header, values, strict=True)))
        except UnicodeDecodeError as exc:
            yield _bad_row(
                f"{path}:{line + 1}",
                f"not valid {encoding} text",
                exc.object[exc.start : exc.end].hex(" "),
                f"{encoding} throughout the file",
            )
        except csv.Error as exc:
            yield _bad_row(f"{path}:{reader.line_num}", "unreadable CSV", str(exc), "CSV")

    return Source(path, "csv", tuple(header), rows(), binary)


def _setlinfo(obj: Any) -> dict[str, Any] | tuple[str, str, str]:
    """A settlement object: a bare setlinfo, or a raw 2207 response wrapping one; else why not
    (message, found, expected)."""
    if not isinstance(obj, dict):
        return ("not a JSON object", f"a JSON {type(obj).__name__}", "an object")
    if "output" in obj or "infcode" in obj:
        infcode = obj.get("infcode", 0)
        if str(infcode) not in ("0", ""):
            found = f"infcode {infcode}: {obj.get('err_msg') or ''}".strip()
            return ("the platform answered with an error", found, "infcode 0")
        output = obj.get("output")
        info = output.get("setlinfo") if isinstance(output, dict) else None
        if not isinstance(info, dict):
            return ("a 2207 response without output.setlinfo", "", "an output.setlinfo object")
        return {str(k).lower(): v for k, v in info.items()}
    return {str(k).lower(): v for k, v in obj.items()}


def _json_row(location: str, obj: Any) -> RawRow:
    info = _setlinfo(obj)
    if isinstance(info, tuple):
        return _bad_row(location, *info)
    return RawRow(location, info)


def _first_char(binary: IO[bytes]) -> bytes:
    head = binary.read(SAMPLE_BYTES).lstrip(codecs.BOM_UTF8).lstrip()
    binary.seek(0)
    return head[:1]


def _open_json(path: Path, file_format: str) -> Source:
    binary = path.open("rb")
    first = _first_char(binary)
    if first == b"[":
        import ijson  # streams the array: memory does not grow with the file

        if binary.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8:
            binary.seek(0)  # no BOM to step over (ijson does not take one)

        def array_rows() -> Iterator[RawRow]:
            index = 0
            try:
                for index, obj in enumerate(ijson.items(binary, "item"), start=1):
                    yield _json_row(f"{path}:record {index}", obj)
            except ijson.JSONError as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                yield _bad_row(f"{path}:record {index + 1}", "not valid JSON", reason, "JSON")

        return Source(path, "json", None, array_rows(), binary)

    text = io.TextIOWrapper(binary, encoding="utf-8-sig")
    if file_format == "json" and first == b"{":
        # One document (a raw 2207 response is one pretty-printed object) or JSON Lines.
        first_line = text.readline()
        text.seek(0)
        try:
            json.loads(first_line)
        except json.JSONDecodeError:
            try:
                obj = json.load(text, parse_float=Decimal)
            except json.JSONDecodeError as exc:
                binary.close()
                raise SourceError(
                    Problem(
                        f"{path}:{exc.lineno}",
                        "file",
                        f"not valid JSON at column {exc.colno}: {exc.msg}",
                        _near(exc.doc, exc.pos),
                        "JSON",
                    )
                ) from None
            except UnicodeDecodeError as exc:
                binary.close()
                raise SourceError(
                    Problem(
                        f"{path}:1",
                        "file",
                        "not valid UTF-8 text",
                        exc.object[exc.start : exc.end].hex(" "),
                        "UTF-8",
                    )
                ) from None
            return Source(path, "json", None, iter([_json_row(f"{path}:1", obj)]), binary)

    def line_rows() -> Iterator[RawRow]:
        line = 0
        try:
            for line, raw in enumerate(text, start=1):
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw, parse_float=Decimal)
                except json.JSONDecodeError as exc:
                    yield _bad_row(
                        f"{path}:{line}",
                        f"not valid JSON at column {exc.colno}: {exc.msg}",
                        _near(raw, exc.pos),
                        "one JSON object per line",
                    )
                    continue
                yield _json_row(f"{path}:{line}", obj)
        except UnicodeDecodeError as exc:
            yield _bad_row(
                f"{path}:{line + 1}",
                "not valid UTF-8 text",
                exc.object[exc.start : exc.end].hex(" "),
                "UTF-8",
            )

    return Source(path, "jsonl", None, line_rows(), binary)


def _cell_text(value: Any) -> Any:
    """XLSX keeps numbers as binary doubles; the shortest repr is the typed-in text, and an
    amount that is not on the fen is then refused by the record check, never rounded."""
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value


def _open_xlsx(path: Path) -> Source:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise SourceError(
            Problem(str(path), "file", f"not a readable XLSX workbook: {exc}", "", "XLSX")
        ) from None
    sheet = workbook.worksheets[0]
    rows_iter = sheet.iter_rows(values_only=True)
    try:
        header = [str(c).strip().lower() if c is not None else "" for c in next(rows_iter)]
    except StopIteration:
        workbook.close()
        raise SourceError(
            Problem(f"{path}:1", "header", "empty sheet", "", "a header row")
        ) from None

    def rows() -> Iterator[RawRow]:
        try:
            for number, values in enumerate(rows_iter, start=2):
                if all(v is None or str(v).strip() == "" for v in values):
                    continue
                fields = {
                    name: _cell_text(v) for name, v in zip(header, values, strict=False) if name
                }
                yield RawRow(f"{path}:{number}", fields)
        finally:
            workbook.close()

    return Source(path, "xlsx", tuple(header), rows(), None)

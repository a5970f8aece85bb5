"""PostgreSQL's binary COPY format, written from Arrow columns a whole column at a time.

Text COPY makes the server parse every field of every row (int8in, timestamp_in, ...); in
the binary format each value comes as the server keeps it. The format (PostgreSQL's "COPY",
Binary Format): a signature; per row a 16-bit field count, then per field a 32-bit length (-1:
NULL) and the value's bytes, integers big-endian; a 16-bit -1 at the end.

No Python loop runs over rows: each column becomes Arrow binary columns (a number's bytes
swapped to big-endian a whole column at a time; a length that every row shares is one
scalar, NULL's length -1), and Arrow joins a row's pieces element-wise into one buffer, the
COPY data of a slice of rows, with the GIL released (the reading thread goes on meanwhile).
The server checks every value as it does for text COPY (UTF-8, varchar lengths, JSON).
"""

from __future__ import annotations

import array
import struct
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # no flags, no header extension
TRAILER = b"\xff\xff"
# PostgreSQL counts timestamps and dates from 2000-01-01, Arrow from 1970-01-01.
EPOCH_MICROS = 946_684_800_000_000
EPOCH_DAYS = 10_957
# Rows encoded at a time (binary arrays have 32-bit offsets; a slice of 65,536 rows is some
# 30 MB, and is sent while the next one is made).
SLICE_ROWS = 65_536

#: The server's types (pg_type.typname) written here: these, int8, int4, int2, bool,
#: timestamp (without time zone) and date.
TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "json"})
_INTEGERS = {"int8": pa.int64(), "int4": pa.int32(), "int2": pa.int16()}


def copy_data(data: pa.Table, types: Mapping[str, str]) -> Iterator[Any]:
    """The rows of ``data`` in the binary format, its columns in the table's order (the
    signature and the trailer not included), as buffers. ``types`` names each column's type
    on the server. ValueError for a value that its column cannot hold exactly."""
    values = {name: _values(data.column(name), types[name]) for name in data.column_names}
    # a length every row shares is written as one scalar
    widths = {name: _one_width(column) for name, column in values.items()}
    for start in range(0, data.num_rows, SLICE_ROWS):
        part = [(column.slice(start, SLICE_ROWS), widths[name]) for name, column in values.items()]
        yield _rows(part)


def _one_width(values: Any) -> int | None:
    """The bytes of every value when they are the same for all and none is NULL."""
    if values.null_count or not len(values):
        return None
    if not pa.types.is_binary(values.type):
        return int(values.type.bit_width) // 8
    low, high = pc.min_max(pc.binary_length(values)).values()
    return int(low.as_py()) if low == high else None


def _values(column: Any, typname: str) -> Any:
    """The column as the integers (fixed width, native order) or bytes the server gets."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    kind = column.type
    if typname in TEXT_TYPES:
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            raise ValueError(f"{typname} from {kind}")
        return column.cast(pa.binary())
    if typname in _INTEGERS:
        if not pa.types.is_integer(kind):
            raise ValueError(f"{typname} from {kind}")
        return column.cast(_INTEGERS[typname])  # a safe cast: out of range raises
    if typname == "bool":
        if pa.types.is_integer(kind):
            outside = pc.sum(pc.and_(pc.not_equal(column, 0), pc.not_equal(column, 1))).as_py()
            if outside:
                raise ValueError("bool from an integer other than 0 or 1")
        elif not pa.types.is_boolean(kind):
            raise ValueError(f"bool from {kind}")
        return column.cast(pa.uint8())
    if typname == "timestamp":
        if pa.types.is_string(kind):
            column = column.cast(pa.timestamp("us"))
        elif not pa.types.is_timestamp(kind) or kind.tz is not None:
            raise ValueError(f"timestamp from {kind}")
        micros = column.cast(pa.timestamp("us")).cast(pa.int64())  # safe: no digits dropped
        return pc.subtract_checked(micros, EPOCH_MICROS)
    if typname == "date":
        if pa.types.is_string(kind):
            column = column.cast(pa.date32())
        elif not pa.types.is_date32(kind):
            raise ValueError(f"date from {kind}")
        return pc.subtract_checked(column.cast(pa.int32()), pa.scalar(EPOCH_DAYS, pa.int32()))
    raise ValueError(f"no binary COPY of {typname}")


def _rows(part: list[tuple[Any, int | None]]) -> Any:
    pieces: list[Any] = [pa.scalar(struct.pack(">h", len(part)), pa.binary())]
    for values, width in part:
        if width is None:
            pieces.extend(_field(values))
        else:
            pieces.append(pa.scalar(struct.pack(">i", width), pa.binary()))
            binary = pa.types.is_binary(values.type)
            pieces.append(values if binary else _big_endian(values, width))
    return _text(pc.binary_join_element_wise(*pieces, b""))


def _native(values: Any, width: int) -> bytes:
    """The values' bytes in the machine's order (a null's bytes are whatever Arrow left)."""
    start = values.offset * width
    return bytes(memoryview(values.buffers()[1])[start : start + len(values) * width])


def _text(values: Any) -> Any:
    """A binary array's bytes, value after value (a view of its buffer, not a copy)."""
    offsets = values.buffers()[1]
    begin = struct.unpack_from("=i", offsets, 4 * values.offset)[0]
    end = struct.unpack_from("=i", offsets, 4 * (values.offset + len(values)))[0]
    return values.buffers()[2].slice(begin, end - begin)


def _binary(data: Any, width: int, rows: int) -> Any:
    """``rows`` values of ``width`` bytes each as an Arrow binary array (no copy)."""
    return pa.Array.from_buffers(
        pa.binary(), rows, [None, _offsets(width, rows), pa.py_buffer(data)]
    )


def _offsets(width: int, rows: int) -> Any:
    """0, width, 2 * width, ...: made once for a width and as many rows as a slice has."""
    made = _OFFSETS.get(width)
    if made is None or made.size < 4 * (rows + 1):
        made = _OFFSETS[width] = pa.array(
            range(0, max(rows, SLICE_ROWS) * width + 1, width), pa.int32()
        ).buffers()[1]
    return made


_OFFSETS: dict[int, Any] = {}
_ARRAY_CODES = {8: "q", 4: "i", 2: "h"}


def _big_endian(values: Any, width: int) -> Any:
    """Fixed-width numbers as a binary array of their big-endian bytes."""
    native = _native(values, width)
    if width == 1 or sys.byteorder == "big":
        return _binary(native, width, len(values))
    swapped = array.array(_ARRAY_CODES[width])
    swapped.frombytes(native)
    swapped.byteswap()
    return _binary(memoryview(swapped).cast("B"), width, len(values))


def _field(values: Any) -> list[Any]:
    """A text or nullable field: its lengths (-1 for NULL) and its bytes (none for NULL)."""
    valid = pc.is_valid(values)
    if pa.types.is_binary(values.type):
        lengths = pc.fill_null(pc.binary_length(values), -1).cast(pa.int32())
        data = pc.fill_null(values, b"") if values.null_count else values
    else:
        width = int(values.type.bit_width) // 8
        lengths = pc.if_else(valid, pa.scalar(width, pa.int32()), pa.scalar(-1, pa.int32()))
        data = pc.if_else(valid, _big_endian(values, width), pa.scalar(b"", pa.binary()))
    return [_big_endian(lengths, 4), data]


__all__ = ["SIGNATURE", "TRAILER", "copy_data"]

"""PostgreSQL's binary COPY format, written from Arrow columns a whole column at a time.

Text COPY makes the server parse every field of every row (int8in, timestamp_in, ...); in
the binary format each value comes as the server keeps it. The format (PostgreSQL's "COPY",
Binary Format): a signature; per row a 16-bit field count, then per field a 32-bit length (-1:
NULL) and the value's bytes, integers big-endian; a 16-bit -1 at the end.

No Python loop runs over rows: the non-null fixed-width fields of every row are laid out in
one byte array (each value's bytes moved by strided slices, most significant first), each
text or nullable field becomes an Arrow binary column of length and bytes, and Arrow joins a
row's pieces element-wise into one buffer, the block's COPY data. The server checks every
value as it does for text COPY (UTF-8, varchar lengths, JSON).
"""

from __future__ import annotations

import functools
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
# Binary arrays have 32-bit offsets: a slice's COPY data must stay under 2 GiB.
SLICE_ROWS = 65_536

#: The server's type names (pg_type.typname) written here, with a value's width in bytes.
FIXED_WIDTH = {"int8": 8, "int4": 4, "int2": 2, "bool": 1, "timestamp": 8, "date": 4}
TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "json"})
_INTEGERS = {"int8": pa.int64(), "int4": pa.int32(), "int2": pa.int16()}


def copy_columns(data: pa.Table, types: Mapping[str, str]) -> list[str]:
    """The order the columns are sent in (the COPY statement's column list): non-null
    fixed-width columns first, laid out together, then the others in the table's order."""
    fixed = [
        name
        for name in data.column_names
        if types[name] in FIXED_WIDTH and data.column(name).null_count == 0
    ]
    return fixed + [name for name in data.column_names if name not in fixed]


def copy_data(data: pa.Table, types: Mapping[str, str], columns: list[str]) -> Iterator[Any]:
    """The rows of ``data`` in the binary format (signature and trailer not included), as
    buffers; ``types`` names each column's type on the server, ``columns`` the order (from
    ``copy_columns``). ValueError for a value that the column cannot hold exactly."""
    values = {name: _values(data.column(name), types[name]) for name in columns}
    fixed = [name for name in columns if types[name] in FIXED_WIDTH and not values[name].null_count]
    for start in range(0, data.num_rows, SLICE_ROWS):
        part = {name: column.slice(start, SLICE_ROWS) for name, column in values.items()}
        yield _rows(part, columns, fixed, len(next(iter(part.values()))))


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


def _rows(part: dict[str, Any], columns: list[str], fixed: list[str], rows: int) -> Any:
    widths = [_width(part[name]) for name in fixed]
    record = 2 + sum(4 + width for width in widths)
    layout = struct.pack(">h", len(columns)) + b"".join(
        struct.pack(">i", width) + bytes(width) for width in widths
    )
    block = bytearray(layout * rows)
    position = 2
    for name, width in zip(fixed, widths, strict=True):
        _place(block, position + 4, record, _native(part[name], width), width)
        position += 4 + width
    pieces = [_binary(block, record, rows)]
    for name in columns[len(fixed) :]:
        pieces.extend(_field(part[name], rows))
    if len(pieces) == 1:
        return pa.py_buffer(block)
    joined = pc.binary_join_element_wise(*pieces, b"")
    end = struct.unpack_from("=i", joined.buffers()[1], 4 * (joined.offset + rows))[0]
    begin = struct.unpack_from("=i", joined.buffers()[1], 4 * joined.offset)[0]
    return joined.buffers()[2][begin:end]


def _width(values: Any) -> int:
    return int(values.type.bit_width) // 8


def _native(values: Any, width: int) -> bytes:
    """The values' bytes in the machine's order (a null's bytes are whatever Arrow left)."""
    start = values.offset * width
    return bytes(memoryview(values.buffers()[1])[start : start + len(values) * width])


def _place(block: bytearray, at: int, stride: int, native: bytes, width: int) -> None:
    """Write each value big-endian at ``at + k * stride``: byte by byte, a strided slice a
    byte of every value."""
    for byte in range(width):
        source = width - 1 - byte if sys.byteorder == "little" else byte
        block[at + byte :: stride] = native[source::width]


def _binary(data: bytes | bytearray, width: int, rows: int) -> Any:
    """``rows`` values of ``width`` bytes each as an Arrow binary array (no copy)."""
    return pa.Array.from_buffers(
        pa.binary(), rows, [None, _offsets(width, rows), pa.py_buffer(data)]
    )


@functools.lru_cache(maxsize=16)
def _offsets(width: int, rows: int) -> Any:
    """0, width, 2 * width, ...: the same few for every block of a load."""
    return pa.array(range(0, rows * width + 1, width), pa.int32()).buffers()[1]


def _big_endian(values: Any, width: int) -> Any:
    out = bytearray(width * len(values))
    _place(out, 0, width, _native(values, width), width)
    return _binary(out, width, len(values))


def _field(values: Any, rows: int) -> list[Any]:
    """A text or nullable field: its lengths (-1 for NULL) and its bytes (none for NULL)."""
    valid = pc.is_valid(values)
    if pa.types.is_binary(values.type):
        lengths = pc.fill_null(pc.binary_length(values), -1).cast(pa.int32())
        data = pc.fill_null(values, b"") if values.null_count else values
    else:
        width = _width(values)
        lengths = pc.if_else(valid, pa.scalar(width, pa.int32()), pa.scalar(-1, pa.int32()))
        data = pc.if_else(valid, _big_endian(values, width), pa.scalar(b"", pa.binary()))
    return [_big_endian(lengths, 4), data]


__all__ = ["SIGNATURE", "TRAILER", "copy_columns", "copy_data"]

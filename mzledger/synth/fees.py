"""The fee details (费用明细, ``fee-details-YYYY-MM.csv``): each settlement's items, written
beside its month's settlements as the rows stream by.

An item list is a pure function of the seed and the settlement's row: its draws come from a
hash of ``{seed}/fee/{setl_id}`` (blake2b), never from the settlements' stream, so the
settlement files keep their bytes and the same arguments write the same items. About three
items a settlement (1 to 5, fewer when an amount is too small to share); the items' five sums
are the settlement's, to the fen: det_item_fee_sumamt = medfee_sumamt, fulamt_ownpay_amt,
overlmt_amt = overlmt_selfpay, preselfpay_amt and inscp_scp_amt, each part of the settlement
split over the items exactly (integer fen), an item's total the sum of its parts.

Which settlements have none: a refund (2208) and the settlement it reverses, whose items the
platform revoked with it (2205): the audit compares a visit whose settlements were all
refunded with 0, and an item is never sent negative; and the planted second purchase of one
prescription's drug at another pharmacy (``same-drug-two-institutions``), so that the planted
mistake is found once, as planted.json lists it. The stream names both (``_Stream.no_items``)
before their rows come by.

What the items are: a pharmacy (fixmedins_type 2) bills drugs only (西药 09, 中药饮片 10,
中成药 11), every item under the purchase's rx_no, the first the prescribed drug_code; a
medical institution bills 诊察费 (02) first, then a mix of examinations and tests (03, 04),
treatment, materials and drugs (a registration-only visit, med_type 12: 诊察费 and 挂号费 13),
all its own (an examination is done where the visit is, never elsewhere), without rxno. A
drug's supply days (prd_days) are 1 to 7: no long prescription. ``cnt`` times ``pric`` is
the item's total exactly (cnt divides the total's ten-thousandths of a fen). The service
codes are fictional (``S`` + category + a number); the drugs are the city's drug codes
(``rows._drug_codes``), a 中成药 or 中药饮片 one with ``Z`` or ``T`` for the leading ``X``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ledger.charge_items import DRUGS
from mzledger.synth.draws import _money, _money_strings
from mzledger.synth.output import _write_atomic
from mzledger.synth.rows import SETTLEMENT_HEADER, _drug_codes, _Row
from mzledger.synth.settlements import _Stream, _write_settlements
from mzledger.synth.spec import CitySpec

FEE_DETAILS_HEADER: tuple[str, ...] = (
    "feedetl_sn", "mdtrt_id", "psn_no", "fixmedins_code", "fee_ocur_time", "med_list_codg",
    "med_chrgitm_type", "det_item_fee_sumamt", "cnt", "pric", "prd_days", "rxno",
    "fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt",
)  # fmt: skip
#: The settlement's parts the items share, in the order of the items' columns.
PARTS = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")
MAX_ITEMS = 5
PHARMACY = "2"
# A medical institution's categories after its 诊察费 (drawn evenly; repeats weigh them).
_CLINIC = ("03", "04", "05", "05", "08", "09", "09", "09", "09", "10", "11", "14")
_PHARMACY = ("09", "09", "09", "10", "11")
_REGISTRATION = ("02", "13")  # a registration-only visit (med_type 12): 诊察费, 挂号费
_SERVICES = 8  # fictional service codes per category
_COUNTS = (1, 2, 4, 5, 8, 10)  # each divides 10,000: pric exact to 10^-6 yuan
_COUNTED = frozenset({"05", "08", *DRUGS})  # billed by quantity; the others once
_I = {name: SETTLEMENT_HEADER.index(name) for name in SETTLEMENT_HEADER}
_PART_INDEX = tuple(_I[name] for name in PARTS)


def fee_details_file(month: str) -> str:
    return f"fee-details-{month}.csv"


class _Draws:
    """Draws of one settlement's items: a big integer from blake2b of the key, read in mixed
    radix (``draw(n)`` in range(n), biased by at most n / 2**64), extended as it runs low."""

    __slots__ = ("key", "n", "w")

    def __init__(self, key: bytes) -> None:
        self.key, self.n, self.w = key, 0, 0

    def __call__(self, n: int) -> int:
        if self.w < n << 64:
            self.n += 1
            digest = hashlib.blake2b(self.key + self.n.to_bytes(4, "little")).digest()
            self.w = self.w << 512 | int.from_bytes(digest, "little")
        r = self.w % n
        self.w //= n
        return r


def _split(total: int, k: int, draw: _Draws) -> list[int]:
    """total fen in k parts >= 0 adding up to it exactly (cuts drawn in [0, total])."""
    if k == 1 or total == 0:
        return [total] + [0] * (k - 1)
    cuts = sorted(draw(total + 1) for _ in range(k - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


def _fen(text: str) -> int:
    """A settlement's money string ("123.45": two decimals, never negative on an original)
    as fen."""
    return int(text.replace(".", ""))


def _pric(total: int, cnt: int) -> str:
    """total fen / cnt as yuan, exact (at most 6 decimals, at least 2)."""
    if cnt == 1:
        return _money(total)
    micro = total * 10_000 // cnt
    text = f"{micro // 1_000_000}.{micro % 1_000_000:06d}".rstrip("0")
    return text + "0" * (2 - len(text.partition(".")[2]))


class FeeItems:
    """The items of a city's settlements, as CSV lines (no line break), row by row."""

    def __init__(self, spec: CitySpec) -> None:
        self.seed = f"{spec.seed}/fee/".encode()
        drugs = _drug_codes(spec)
        self.codes = {
            "09": drugs,
            "10": ["T" + code[1:] for code in drugs],
            "11": ["Z" + code[1:] for code in drugs],
        }
        self.count = 0  # the items written by the last ``tee``
        self.money = _money_strings()  # an original's amounts and their parts are in it

    def _code(self, category: str, draw: _Draws) -> str:
        codes = self.codes.get(category)
        if codes is None:
            return f"S{category}{1 + draw(_SERVICES):04d}"
        return codes[draw(len(codes))]

    def items(self, fields: list[str]) -> list[str]:
        """The item lines of one original settlement (its row split on commas)."""
        setl_id = fields[_I["setl_id"]]
        draw = _Draws(self.seed + setl_id.encode())
        parts = [_fen(fields[i]) for i in _PART_INDEX]
        k = 1 + draw(MAX_ITEMS)
        shares = list(zip(*(_split(part, k, draw) for part in parts), strict=True))
        shares = [s for s in shares if sum(s)]  # an item of 0.00 is no item
        pharmacy = fields[_I["fixmedins_type"]] == PHARMACY
        rxno = fields[_I["rx_no"]] if pharmacy else ""
        registration = fields[_I["med_type"]] == "12"
        head = (
            f"{fields[_I['mdtrt_id']]},{fields[_I['psn_no']]},{fields[_I['fixmedins_code']]},"
            f"{fields[_I['setl_time']]}"
        )
        lines, money = [], self.money
        for n, share in enumerate(shares, 1):
            if pharmacy:
                category = "09" if n == 1 else _PHARMACY[draw(len(_PHARMACY))]
                code = fields[_I["drug_code"]] if n == 1 else self._code(category, draw)
            else:
                others = _REGISTRATION if registration else _CLINIC
                category = "02" if n == 1 else others[draw(len(others))]
                code = self._code(category, draw)
            total = sum(share)
            cnt = _COUNTS[draw(len(_COUNTS))] if category in _COUNTED else 1
            days = f"{1 + draw(7)}" if category in DRUGS else ""
            ful, over, pre, inscp = share
            lines.append(
                f"{setl_id}-{n},{head},{code},{category},{money[total]},{cnt},"
                f"{_pric(total, cnt)},{days},{rxno},{money[ful]},{money[over]},{money[pre]},"
                f"{money[inscp]}"
            )
        return lines

    def tee(self, stream: _Stream, rows: Iterator[_Row], fh: IO[str]) -> Iterator[_Row]:
        """The rows unchanged, each one's items written to fh as it goes by (none for a
        refund, a settlement to be refunded, a planted second purchase)."""
        no_items, refund = stream.no_items, _I["refd_setl_flag"]
        count = 0
        for row in rows:
            yield row
            fields = row.split(",")
            setl_id = fields[0]
            if setl_id in no_items:
                no_items.discard(setl_id)
            elif fields[refund] != "1":
                lines = self.items(fields)
                if lines:
                    fh.write("\n".join(lines) + "\n")
                    count += len(lines)
        self.count = count


def write_month(
    items: FeeItems, stream: _Stream, rows: Iterator[_Row], settlements: Path, fees: Path
) -> tuple[int, int]:
    """A month's settlement file and its fee-detail file, each whole or not at all (the
    settlements' is in place before the fee details'); returns their row counts."""
    counts = [0, 0]

    def write(fh: IO[str]) -> None:
        fh.write(",".join(FEE_DETAILS_HEADER) + "\n")
        items.count = 0
        _path, counts[0] = _write_settlements(settlements, items.tee(stream, rows, fh))
        counts[1] = items.count

    _write_atomic(fees, write)
    return counts[0], counts[1]


__all__ = ["FEE_DETAILS_HEADER", "PARTS", "FeeItems", "fee_details_file", "write_month"]

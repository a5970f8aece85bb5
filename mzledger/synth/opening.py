"""The city's opening trial balance (期初余额表), as the agency's old system would export it.

What the fund holds before the first generated month: in the fiscal special account (1003) each
sub-fund's reserve, two times what the generated months pay from it, rounded up to 100,000 yuan,
so that 1003 stays positive while it tops up the disbursement accounts; the disbursement
accounts (1004) start empty, as their generated statements do. The net assets (3001) by
sub-fund equal it. GB18030, as Chinese finance software writes its exports.
"""

from __future__ import annotations

import csv
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import IO

from mzledger.synth.draws import _yuan
from mzledger.synth.output import _write_atomic
from mzledger.synth.settlements import _Stream

OPENING_HEADER = ("科目编码", "科目名称", "借方余额", "贷方余额")
RESERVE_UNIT = Decimal("100000")
RESERVE_TIMES = 2


def _reserve(fen: int) -> Decimal:
    yuan = _yuan(fen) * RESERVE_TIMES
    units = (yuan / RESERVE_UNIT).to_integral_value(rounding=ROUND_CEILING)
    return (max(units, Decimal(1)) * RESERVE_UNIT).quantize(Decimal("0.01"))


def reserves(stream: _Stream) -> tuple[Decimal, Decimal]:
    """Each sub-fund's reserve in the fiscal special account (pooled, personal)."""
    parts = stream.batch_parts().values()
    return _reserve(sum(p for p, _ in parts)), _reserve(sum(q for _, q in parts))


def write_opening(stream: _Stream, out_dir: Path) -> Path:
    """out_dir/opening-balances.csv, from the batch parts the settlement stream gathered."""
    pooled, personal = reserves(stream)
    rows = [
        ("1003", "财政专户存款", f"{pooled + personal}", ""),
        ("100401", "支出户存款——统筹基金", "0.00", ""),
        ("100402", "支出户存款——个人账户基金", "0.00", ""),
        ("300101", "一般基金结余——统筹基金", "", f"{pooled}"),
        ("300102", "一般基金结余——个人账户基金", "", f"{personal}"),
    ]

    def write(fh: IO[str]) -> None:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(OPENING_HEADER)
        writer.writerows(rows)

    return _write_atomic(out_dir / "opening-balances.csv", write, encoding="gb18030")

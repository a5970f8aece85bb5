"""The fee-detail contract's rules, written once (费用明细数据校验规则), in the style of the
settlement's (``importers.settlements.rules``), whose field kinds and readers they share.

The fields are the national platform's for transaction 2204 (门诊费用明细信息上传) and its
output (the amounts the platform works out per item: 全自费, 超限价, 先行自付, 符合范围). Lengths
are the platform's as integration code transcribes the 2204 interface (feedetl_sn, mdtrt_id,
psn_no, rxno 30; med_list_codg 50; med_chrgitm_type 6; cnt 16,4; pric 16,6; prd_days 4,2;
amounts 16,2): TeaHZ/185 ``OnlineBusHos185/Models/T2204.cs`` and a second transcription agree.
The item's institution (``fixmedins_code``) is not a 2204 field (the platform knows who
uploads): an export of several institutions' items carries it, and this contract requires it.
"""

from __future__ import annotations

from importers.settlements.rules import TextField
from ledger.register.models import FEE_MONEY_FIELDS

#: The fee detail's text fields, in the order their problems are reported.
FEE_TEXT_FIELDS = (
    TextField("feedetl_sn", "code", True, 30),  # unique within one visit
    TextField("mdtrt_id", "code", True, 30),
    TextField("psn_no", "code", True, 30),
    TextField("fixmedins_code", "code", True, 30),
    TextField("fee_ocur_time", "time", True, None),
    TextField("med_list_codg", "code", True, 50),
    TextField("med_chrgitm_type", "code", True, 6),  # ledger.charge_items
    TextField("rxno", "code", False, 30),
)
REQUIRED_FEE_MONEY = ("det_item_fee_sumamt",)
#: Quantities that are not money: (field, decimal places, required), the platform's scales.
QUANTITIES = (("cnt", 4, True), ("pric", 6, True), ("prd_days", 2, False))
QUANTITY_DIGITS = 12  # at most, before the point (the platform's 16,4 less its places)
FEE_FIELDS = frozenset(
    [f.name for f in FEE_TEXT_FIELDS] + list(FEE_MONEY_FIELDS) + [q[0] for q in QUANTITIES]
)
REQUIRED_COLUMNS = (
    *(f.name for f in FEE_TEXT_FIELDS if f.required),
    *REQUIRED_FEE_MONEY,
    "cnt",
    "pric",
)
#: The self-pay parts of an item, each at most the item's total (the platform's 2204 output).
SELF_PAY_PARTS = ("fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt")
#: What makes two rows one item: the platform's key (feedetl_sn is unique within a visit).
ITEM_KEY = ("mdtrt_id", "fixmedins_code", "feedetl_sn")
#: What two rows of one item must agree in to be the same item (extra columns do not count).
ITEM_CONTENT = tuple(sorted(FEE_FIELDS - {"feedetl_sn", "mdtrt_id", "fixmedins_code"}))

__all__ = [
    "FEE_FIELDS",
    "FEE_TEXT_FIELDS",
    "ITEM_CONTENT",
    "ITEM_KEY",
    "QUANTITIES",
    "REQUIRED_COLUMNS",
    "REQUIRED_FEE_MONEY",
    "SELF_PAY_PARTS",
]

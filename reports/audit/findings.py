"""The audit's findings (稽核发现): the one model, the JSON it is written as and read back from.

`mzledger audit --format json` writes ``dump_findings``; the Fava page reads the same files
with ``load_findings``: one shape, one writer, one reader. Money is written as strings with two
decimals, so no reader turns it into a float; person numbers only, never a name.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

#: rule -> (article, Chinese explanation, English explanation)
RULES: dict[str, tuple[str, str, str]] = {
    "refund-out-of-order": (
        "鞍医保发〔2022〕14号 第九条（起付标准年度内累计计算、年度最高支付限额）",
        "此前一笔结算在本笔结算之后才退费：本笔结算按当时的起付线和限额使用计算无误，"
        "退费后应付金额随之改变（非本笔结算之过）",
        "an earlier settlement was refunded only after this one: this payment was right by the "
        "deductible and cap that settlement had used, and the refund changed what it should be",
    ),
    "benefit-mismatch": (
        "鞍医保发〔2022〕14号 第九条、第十条、第三十二条",
        "统筹基金支付额与按政策重算结果不符",
        "pooled-fund payment differs from the payment recomputed by the rules",
    ),
    "annual-cap-exceeded": (
        "鞍医保发〔2022〕14号 第九条",
        "年度统筹基金支付累计超过最高支付限额",
        "the person's pooled payments in the year pass the annual cap",
    ),
    "monthly-cap-exceeded": (
        "鞍医保发〔2022〕14号 第三十二条",
        "月度统筹基金支付累计超过最高支付限额",
        "the person's pooled payments in the month pass the monthly cap",
    ),
    "non-designated-institution": (
        "晋医保办发〔2022〕27号 第二十六条（一）",
        "在非门诊统筹定点医药机构发生统筹基金支付",
        "pooled payment at an institution that is not on the designated list",
    ),
    "outside-city-not-covered": (
        "鞍医保发〔2022〕14号 第十条",
        "未经转诊转院备案且不符合急危重病种标准的市域外门诊费用由统筹基金支付",
        "pooled payment outside the city without referral, residence record or emergency",
    ),
    "arrears-period": (
        "晋医保办发〔2022〕27号 第二十六条（五）",
        "欠费期间发生的门诊费用由统筹基金支付",
        "pooled payment during an arrears period",
    ),
    "flexible-worker-personal-account": (
        "鞍医保发〔2022〕14号 第十二条",
        "灵活就业人员不建立个人账户，却有个人账户支出",
        "a flexible worker has no personal account, yet acct_pay is not 0",
    ),
    "mutual-aid-without-family-binding": (
        "鞍医保发〔2022〕14号 第十三条",
        "个人账户共济支付的使用人在结算日没有与配偶、父母或子女的有效家庭共济绑定",
        "mutual-aid payment without a binding in force that day to a spouse, parent or child",
    ),
    "mutual-aid-no-personal-account": (
        "鞍医保发〔2022〕14号 第十二条、第十三条、第二十六条",
        "无个人账户人员（灵活就业人员等）作为家庭共济的使用人或账户持有人",
        "a person without a personal account (flexible worker) is the user or the holder of "
        "a mutual-aid payment",
    ),
    "duplicate-visit-deductible": (
        "晋医保办发〔2022〕27号 第二十二条",
        "同一就诊流水号在同一医疗机构重复计算起付标准",
        "the deductible was charged more than once within one visit at one institution",
    ),
    "prescription-expired": (
        "晋医保办发〔2022〕27号 第十一条",
        "药店购药所凭电子处方已超过3天有效期",
        "the pharmacy purchase used a prescription older than 3 days",
    ),
    "prescription-not-designated": (
        "晋医保办发〔2022〕27号 第二十六条（二）",
        "处方非由门诊统筹定点医疗机构开具",
        "the prescription was not written by a designated medical institution",
    ),
    "same-drug-two-institutions": (
        "晋医保办发〔2022〕27号 第十四条",
        "同一处方的同一药品在不同医药机构购买",
        "the same drug of one prescription was bought at two institutions",
    ),
    "prescription-missing": (
        "晋医保办发〔2022〕27号 第十条、第十一条、第二十六条（二）",
        "定点药店购药无处方却由统筹基金支付",
        "pooled payment for a pharmacy purchase without a prescription",
    ),
    "prescription-after-purchase": (
        "晋医保办发〔2022〕27号 第十条、第十一条",
        "药店购药所凭处方的开具日期晚于购药日期",
        "the prescription is dated after the pharmacy purchase",
    ),
    "amount-consistency": (
        "晋医保办发〔2022〕27号 第二十条、第二十一条",
        "符合政策范围金额不等于医疗费总额减全自费、超限价自费和先行自付",
        "inscp_scp_amt is not medfee_sumamt less the fully self-paid, over-limit and "
        "first self-paid parts: the benefit was computed on the wrong base",
    ),
    "no-policy-period": (
        "鞍医保发〔2022〕14号 第三十二条",
        "结算日期不在政策文件任何期间内，无法按政策重算",
        "the settlement is dated where no period of the policy applies: not recomputed",
    ),
    "large-amount-subsidy-outpatient": (
        "鞍医保发〔2022〕14号 第二十七条",
        "普通门诊统筹费用由职工大额医疗补助支付",
        "the large-amount subsidy (hifob_pay) paid on an outpatient-pooling settlement",
    ),
    "civil-servant-subsidy-not-civil-servant": (
        "鞍医保发〔2022〕14号 第三十条",
        "非公务员人员类别却有公务员医疗补助支出",
        "a civil-servant subsidy (cvlserv_pay) for a person who is not a civil servant",
    ),
    "civil-servant-subsidy-over-scope": (
        "鞍医保发〔2022〕14号 第三十条",
        "公务员医疗补助超过统筹基金支付后个人负担的政策范围内费用",
        "the civil-servant subsidy is more than the policy-scope amount pooling left to the "
        "person (inscp_scp_amt - hifp_pay)",
    ),
    "fee-details-mismatch": (
        "晋医保办发〔2022〕27号 第九条、第十三条",
        "就诊费用明细合计与结算的医疗费总额或自付、自费部分不符",
        "a visit's fee details do not add up to its settlements' total or self-pay parts",
    ),
    "fee-details-without-settlement": (
        "晋医保办发〔2022〕27号 第九条、第十三条",
        "已上传费用明细的就诊在登记簿中没有结算",
        "fee details of a visit the register has no settlement of",
    ),
    "item-same-drug-two-institutions": (
        "晋医保办发〔2022〕27号 第十四条",
        "同一处方的同一药品（费用明细）在不同医药机构购买",
        "the same drug of one prescription was billed by two institutions (fee details)",
    ),
    "item-supply-over-usual": (
        "鞍医保发〔2022〕14号 第二十三条",
        "药品处方量超过7日且无长期处方情形",
        "a drug item supplies more than 7 days without a long-prescription reason",
    ),
    "item-supply-over-longest": (
        "鞍医保发〔2022〕14号 第二十三条",
        "药品处方量超过三个月",
        "a drug item supplies more than three months (90 days)",
    ),
    "exam-at-pharmacy": (
        "晋医保办发〔2022〕27号 第九条",
        "检查、化验项目由定点零售药店收费",
        "an examination or test was billed by a pharmacy",
    ),
    "exam-outside-prescriber": (
        "晋医保办发〔2022〕27号 第九条",
        "检查、化验项目未在开具诊疗单的医疗机构进行",
        "an examination or test was billed by another institution than the one that prescribed it",
    ),
    "pharmacies-in-a-day": (
        "鞍医保发〔2022〕14号 第二十五条",
        "智能监控：同一参保人同一天在多家定点零售药店购药，达到监控阈值",
        "monitoring: purchases at different pharmacies on one day, as many as the policy's "
        "min_pharmacies_in_a_day or more",
    ),
    "visits-in-a-week": (
        "鞍医保发〔2022〕14号 第二十五条",
        "智能监控：同一参保人连续7天内就诊次数超过监控阈值（疑似过度诊疗）",
        "monitoring: more visits in 7 consecutive days than the policy's max_visits_in_7_days",
    ),
    "account-drained-at-pharmacies": (
        "鞍医保发〔2022〕14号 第二十五条",
        "智能监控：当月在定点零售药店多次几乎全部由个人账户支付、无统筹支付，累计金额达到监控阈值"
        "（疑似个人账户套现）",
        "monitoring: in one month, pharmacy purchases paid (almost) wholly from the personal "
        "account with no pooled payment, as many and as much as the policy's drain thresholds",
    ),
}

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
#: The JSON's string fields, in the order a reader checks them; the flag says optional.
TEXT_FIELDS = (
    ("rule", False),
    ("setl_id", False),
    ("psn_no", False),
    ("institution", False),
    ("setl_time", False),
    ("batch", True),
    ("reported_hifp_pay", True),
    ("expected_hifp_pay", True),
    ("difference", True),
    ("article", True),
    ("explanation_zh", True),
    ("explanation_en", True),
)


class FindingsError(ValueError):
    """A findings file that is not what `mzledger audit --format json` writes."""


@dataclass(frozen=True)
class Finding:
    """One problem with one settlement (结算), with its evidence; the article and explanations
    follow from the rule."""

    rule: str
    setl_id: str
    psn_no: str
    institution: str
    setl_time: datetime.datetime
    batch: str | None
    reported_hifp_pay: Decimal | None = None
    expected_hifp_pay: Decimal | None = None
    evidence: tuple[tuple[str, str], ...] = ()

    @property
    def article(self) -> str:
        return RULES[self.rule][0]

    @property
    def explanation_zh(self) -> str:
        return RULES[self.rule][1]

    @property
    def explanation_en(self) -> str:
        return RULES[self.rule][2]

    @property
    def difference(self) -> Decimal | None:
        if self.reported_hifp_pay is None or self.expected_hifp_pay is None:
            return None
        return self.reported_hifp_pay - self.expected_hifp_pay

    def as_dict(self) -> dict[str, Any]:
        """The JSON/CSV shape: money as strings, so no reader turns it into a float."""

        def money(value: Decimal | None) -> str | None:
            return None if value is None else f"{value:.2f}"

        return {
            "rule": self.rule,
            "setl_id": self.setl_id,
            "psn_no": self.psn_no,
            "institution": self.institution,
            "setl_time": self.setl_time.strftime(TIME_FORMAT),
            "batch": self.batch,
            "reported_hifp_pay": money(self.reported_hifp_pay),
            "expected_hifp_pay": money(self.expected_hifp_pay),
            "difference": money(self.difference),
            "article": self.article,
            "explanation_zh": self.explanation_zh,
            "explanation_en": self.explanation_en,
            "evidence": dict(self.evidence),
        }

    @classmethod
    def from_dict(cls, item: Mapping[str, Any]) -> Finding:
        """The finding ``as_dict`` wrote; FindingsError naming the field otherwise. The
        article, explanations and difference follow from the rule and the amounts, so they
        are checked for their type only."""
        evidence = item.get("evidence") or {}
        if not isinstance(evidence, dict):
            raise FindingsError("evidence: expected an object")
        text = {name: _text(item, name, optional=optional) for name, optional in TEXT_FIELDS}
        # the types first, then the values: a file wrong in both says what it said before
        if text["rule"] not in RULES:
            raise FindingsError(f"rule: not a rule of the audit ({text['rule'][:60]!r})")
        try:
            setl_time = datetime.datetime.strptime(text["setl_time"], TIME_FORMAT)
        except ValueError:
            raise FindingsError(
                f"setl_time: expected YYYY-MM-DD HH:MM:SS (found {text['setl_time'][:30]!r})"
            ) from None
        return cls(
            rule=text["rule"],
            setl_id=text["setl_id"],
            psn_no=text["psn_no"],
            institution=text["institution"],
            setl_time=setl_time,
            batch=text["batch"],
            reported_hifp_pay=_money(text, "reported_hifp_pay"),
            expected_hifp_pay=_money(text, "expected_hifp_pay"),
            evidence=tuple((str(k), str(v)) for k, v in evidence.items()),
        )


@dataclass
class AuditResult:
    """What one audit found over a period, and how many settlements it read and recomputed."""

    period: str
    findings: list[Finding] = field(default_factory=list)
    settlements: int = 0  # in the audited period
    recomputed: int = 0
    not_recomputed: Counter[str] = field(default_factory=Counter)  # why, e.g. pharmacy
    errors: list[str] = field(default_factory=list)

    def by_rule(self) -> Counter[str]:
        return Counter(f.rule for f in self.findings)


def _text(item: Mapping[str, Any], name: str, *, optional: bool = False) -> Any:
    value = item.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise FindingsError(f"{name}: expected a string (found {type(value).__name__})")
    return value


def _money(text: Mapping[str, str | None], name: str) -> Decimal | None:
    value = text[name]
    if value is None:
        return None
    try:
        amount: Decimal | None = Decimal(value)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise FindingsError(f"{name}: expected an amount such as 12.50 (found {value[:30]!r})")
    return amount


def dump_findings(findings: Sequence[Finding]) -> str:
    """The findings as `mzledger audit --format json` writes them."""
    return json.dumps([f.as_dict() for f in findings], ensure_ascii=False, indent=2) + "\n"


def load_findings(path: Path) -> list[Finding]:
    """The findings of one file, in the file's order; FindingsError, naming the file and the
    item, if the file is not a findings list."""
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FindingsError(f"{path.name}: cannot read: {exc}") from None
    if not isinstance(raw, list):
        raise FindingsError(f"{path.name}: not a JSON array of findings")
    out = []
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise FindingsError(f"{path.name}: item {n}: not an object")
        try:
            out.append(Finding.from_dict(item))
        except FindingsError as exc:
            raise FindingsError(f"{path.name}: item {n}: {exc}") from None
    return out


__all__ = [
    "RULES",
    "AuditResult",
    "Finding",
    "FindingsError",
    "dump_findings",
    "load_findings",
]

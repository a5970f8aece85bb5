"""The extension's parameters, checked: a query string's values become what the pages ask
for, or :class:`BadRequest`, which says in Chinese and English what is wrong (HTTP 400);
and a page of results."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ledger.month import Month

T = TypeVar("T")

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 500

#: setl_id, mdtrt_id, psn_no: what the platform issues (letters, digits, ``-_.``), <= 40.
ID_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,39}$")
CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,29}$")
#: ``clr-<period>-<institution>-<clr_type>``, optionally written with Beancount's ``^``.
LINK_RE = re.compile(
    r"^clr-\d{4}-(0[1-9]|1[0-2])-[0-9A-Za-z][0-9A-Za-z_.-]{0,29}-[0-9A-Za-z]{1,10}$"
)
FINDINGS_FILE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,99}\.json$")
PAGE_RE = re.compile(r"^[1-9][0-9]{0,8}$")
RULE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")


class BadRequest(ValueError):
    """A parameter is malformed or names nothing: answered with HTTP 400."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


# ---------------------------------------------------------------------------------------------
# Parameters


def param_value(args: Mapping[str, str], name: str) -> str | None:
    """A parameter's value, stripped; an empty one counts as absent (empty form fields)."""
    value = args.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def parse_page(args: Mapping[str, str]) -> int:
    value = param_value(args, "page")
    if value is None:
        return 1
    if not PAGE_RE.match(value):
        raise BadRequest(
            f"页码无效（{value[:20]}），应为正整数",
            f"page: expected a positive integer (found {value[:20]!r})",
        )
    return int(value)


def parse_per_page(args: Mapping[str, str]) -> int:
    value = param_value(args, "per_page")
    if value is None:
        return DEFAULT_PER_PAGE
    if not PAGE_RE.match(value) or int(value) > MAX_PER_PAGE:
        raise BadRequest(
            f"每页条数无效（{value[:20]}），应为 1 至 {MAX_PER_PAGE}",
            f"per_page: expected 1 to {MAX_PER_PAGE} (found {value[:20]!r})",
        )
    return int(value)


def parse_link(value: str | None) -> str:
    """A batch link, ``clr-2023-01-H21030101-11`` (a leading ``^`` is allowed)."""
    if value is None or not value.strip():
        raise BadRequest("缺少清算批次（link 参数）", "link: missing (expected clr-YYYY-MM-...)")
    link = value.strip().removeprefix("^")
    if len(link) > 100 or not LINK_RE.match(link):
        raise BadRequest(
            f"清算批次标识无效：{link[:100]}",
            f"link: expected clr-<YYYY-MM>-<institution>-<clr_type> (found {link[:100]!r})",
        )
    return link


def parse_id(name: str, value: str) -> str:
    if not ID_RE.match(value):
        raise BadRequest(
            f"{LABELS.get(name, name)}格式无效：{value[:40]}",
            f"{name}: expected letters, digits, '-', '_' or '.', at most 40 (found {value[:40]!r})",
        )
    return value


def parse_period(value: str | None) -> Month | None:
    if value is None or not value.strip():
        return None
    try:
        return Month.parse(value.strip())
    except ValueError:
        raise BadRequest(
            f"清算期间无效：{value[:20]}（应为 YYYY-MM）",
            f"period: expected YYYY-MM (found {value[:20]!r})",
        ) from None


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a longer list."""

    items: tuple[T, ...]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def first(self) -> int:
        """1-based position of the page's first item (0 when empty)."""
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        return (self.number - 1) * self.per_page + len(self.items)


def check_page(number: int, per_page: int, total: int) -> None:
    pages = max(1, math.ceil(total / per_page))
    if number > pages:
        raise BadRequest(
            f"页码超出范围：第 {number} 页，共 {pages} 页",
            f"page: {number} is past the last page ({pages})",
        )


def paginate(items: Sequence[T], number: int, per_page: int) -> Page[T]:
    check_page(number, per_page, len(items))
    start = (number - 1) * per_page
    return Page(tuple(items[start : start + per_page]), number, per_page, len(items))


#: Chinese column titles.
LABELS: dict[str, str] = {
    "setl_id": "结算ID",
    "mdtrt_id": "就诊ID",
    "psn_no": "人员编号",
    "psn_type": "人员类别",
    "med_type": "医疗类别",
    "setl_time": "结算时间",
    "fixmedins_code": "定点医药机构",
    "medfee_sumamt": "医疗费总额",
    "inscp_scp_amt": "符合范围金额",
    "act_pay_dedc": "起付线",
    "hifp_pay": "统筹基金支出",
    "acct_pay": "个人账户支出",
    "acct_mulaid_pay": "账户共济支出",
    "psn_cash_pay": "现金支付",
    "fund_pay_sumamt": "基金支付总额",
    "clr_type": "清算类别",
    "refd_setl_flag": "退费",
    "init_setl_id": "原结算ID",
    "other_funds": "其他基金合计",
    "personal": "个人账户合计（含共济）",
}

"""A region's outpatient-pooling benefit rule (门诊统筹待遇政策), read from a TOML data file.

One file per region (医保区划), ``reports/audit/policies/<region>.toml``: the deductible
(起付标准), the pooled-fund ratios (统筹基金支付比例) for in-work and retired people, and the cap
(最高支付限额), per tier of institution and per dated period. A second city is a new file, not
new code.
"""

from __future__ import annotations

import datetime
import itertools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast

from ledger.crediting import CreditingRule
from ledger.money import ZERO, parse_amount

#: The tiers every period must price, exactly these: hospital levels 1..3 and outside the city.
TIERS = ("level-1", "level-2", "level-3", "outside")
SCOPES = ("year", "month")
RATIO_PLACES = 4

_TOP_FIELDS = (
    "region",
    "name",
    "document",
    "med_types",
    "civil_servants",
    "period",
    "crediting",
    "indicators",
    "pharmacy",
    "prescription_days",
    "monitoring",
)
#: ``[pharmacy]``: how the audit treats a pharmacy purchase's pooled payment (定点药店购药, med_type
#: 41): the Anshan rules give one annual cap (art. 9) and leave the pharmacy standard to later
#: (art. 11 "另行制定"). ``cap-only``: the payment is taken as reported and counts toward the
#: cap; ``tier``: it is recomputed as a visit at ``tier``.
PHARMACY_READINGS = ("cap-only", "tier")
_PHARMACY_FIELDS = ("reading", "tier", "article")
#: ``[indicators]``: the thresholds above which an institution's indicator is marked (Shanxi
#: art. 16 names the indicators and gives no figures), each a ratio in quotes.
INDICATOR_LIMITS = ("cost_growth", "self_pay_share", "co_pay_share", "exam_share")
_PRESCRIPTION_FIELDS = ("usual", "longest", "reason_med_types", "reason_drugs", "article")
#: ``[monitoring]`` (Anshan art. 25, 智能监控): the thresholds of the monitoring patterns, each
#: a whole number (counts) or a quoted amount or ratio; every one required.
MONITORING_COUNTS = ("min_pharmacies_in_a_day", "max_visits_in_7_days", "drain_min_purchases")
MONITORING_FIELDS = (*MONITORING_COUNTS, "drain_min_acct_pay", "drain_acct_share")
#: The least each count may be: one pharmacy a day, or one purchase, is no pattern.
_COUNT_LEAST = {"min_pharmacies_in_a_day": 2, "max_visits_in_7_days": 1, "drain_min_purchases": 1}
_CREDITING_FIELDS = (
    "begins",
    "in_work_share",
    "retiree_monthly",
    "article",
    "no_personal_account",
)
_PERIOD_FIELDS = ("begins", "ends", "scope", "cap", "article", "tiers")
_TIER_FIELDS = ("deductible", "in_work", "retired")
_REGION = re.compile(r"[0-9]{6}")


class PolicyError(ValueError):
    """A policy file is not usable; one line per problem, each naming the file and the field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Tier:
    """The terms at one tier of institution: 起付标准 and 统筹基金支付比例 (在职 / 退休)."""

    deductible: Decimal
    in_work: Decimal
    retired: Decimal

    def ratio(self, retired: bool) -> Decimal:
        return self.retired if retired else self.in_work


@dataclass(frozen=True)
class PolicyPeriod:
    """Terms in force from ``begins`` to ``ends`` (inclusive; ``None`` = still in force)."""

    begins: datetime.date
    ends: datetime.date | None
    scope: Literal["year", "month"]
    cap: Decimal
    # A read-only mapping; left out of the hash because mappings are not hashable.
    tiers: Mapping[str, Tier] = field(hash=False)
    article: str

    def covers(self, day: datetime.date) -> bool:
        return self.begins <= day and (self.ends is None or day <= self.ends)

    def key(self, day: datetime.date) -> str:
        """The accumulation key of ``day``: ``"2023"`` (natural year) or ``"2022-12"`` (month)."""
        return f"{day.year:04d}" if self.scope == "year" else f"{day.year:04d}-{day.month:02d}"


@dataclass(frozen=True)
class PharmacyReading:
    """How a pharmacy purchase's pooled payment is judged (``[pharmacy]``, PHARMACY_READINGS)."""

    reading: str  # cap-only | tier
    tier: str | None  # the tier of the ``tier`` reading
    article: str  # why: what the policy file says the reading rests on

    def describe(self) -> str:
        how = "cap only" if self.reading == "cap-only" else f"as {self.tier}"
        return f"pharmacy reading: {how} (policy [pharmacy]; {self.article})"


@dataclass(frozen=True)
class PrescriptionDays:
    """How many days of drugs one prescription may supply (处方量, Anshan art. 23): ``usual``
    (7), up to ``longest`` (three months, 90) only with a long-prescription reason: a visit of
    one of ``reason_med_types`` (the settlement's med_type) or a drug (med_list_codg) of
    ``reason_drugs``. The register has no field for the reason itself."""

    usual: int = 7
    longest: int = 90
    reason_med_types: frozenset[str] = frozenset({"14"})
    reason_drugs: frozenset[str] = frozenset()
    article: str = "鞍医保发〔2022〕14号 第二十三条"


@dataclass(frozen=True)
class Monitoring:
    """The monitoring patterns' thresholds (``[monitoring]``, Anshan art. 25: 智能监控)."""

    #: pharmacies-in-a-day: this many different pharmacies or more on one calendar day.
    min_pharmacies_in_a_day: int
    #: visits-in-a-week: more visits than this in 7 consecutive calendar days.
    max_visits_in_7_days: int
    #: account-drained-at-pharmacies, in a calendar month: at least this many account-only
    #: pharmacy purchases (hifp_pay 0, acct_pay at least ``drain_acct_share`` of the cost)...
    drain_min_purchases: int
    #: ...whose acct_pay comes to at least this much.
    drain_min_acct_pay: Decimal
    drain_acct_share: Decimal


@dataclass(frozen=True)
class Policy:
    region: str
    name: str
    document: str
    #: med_type codes this rule recomputes (e.g. 11 普通门诊); others are not outpatient pooling.
    med_types: frozenset[str]
    #: psn_type codes of civil servants (公务员), who alone may have a civil-servant subsidy
    #: (公务员医疗补助, Anshan art. 30).
    civil_servants: frozenset[str]
    #: In date order, not overlapping.
    periods: tuple[PolicyPeriod, ...]
    #: The monitoring patterns' thresholds (``[monitoring]``, required).
    monitoring: Monitoring
    #: Personal-account crediting (个人账户计入), in date order; none before the first.
    crediting: tuple[CreditingRule, ...] = ()
    #: Institution indicators' thresholds (``[indicators]``, INDICATOR_LIMITS): a ratio each.
    indicator_limits: tuple[tuple[str, Decimal], ...] = ()
    #: The reading of pharmacy purchases (``[pharmacy]``); None: the policy file has none, and
    #: pharmacy purchases are not recomputed (a file made before it).
    pharmacy: PharmacyReading | None = None
    #: The supply days of a prescription (Anshan art. 23), read by the fee-detail rules.
    prescription_days: PrescriptionDays = PrescriptionDays()

    #: Each day's period once looked up: the audit asks for every settlement, several times.
    _by_day: dict[datetime.date, PolicyPeriod | None] = field(
        default_factory=dict, compare=False, repr=False, hash=False
    )

    def period_for(self, day: datetime.date) -> PolicyPeriod | None:
        try:
            return self._by_day[day]
        except KeyError:
            found = next((p for p in self.periods if p.covers(day)), None)
            self._by_day[day] = found
            return found


class _Problems:
    """Collects every problem of a file, so one run shows them all."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{self.source}: {where}: {what}")


def _found(value: object) -> str:
    return f"{type(value).__name__} {value!r}" if not isinstance(value, str) else repr(value)


def _text(raw: Mapping[str, Any], key: str, where: str, problems: _Problems) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        shown = "nothing" if value is None else _found(value)
        problems.add(where, f"missing or empty (found {shown}, expected a text in quotes)")
        return ""
    return value


def _decimal(
    value: object, where: str, problems: _Problems, *, places: int, ratio: bool
) -> Decimal:
    expected = (
        'a ratio in quotes such as "0.60"' if ratio else 'an amount in quotes such as "300.00"'
    )
    if not isinstance(value, str):
        # TOML numbers are floats (or ints) and would not stay exact decimals.
        shown = "nothing" if value is None else _found(value)
        problems.add(where, f"not a quoted number (found {shown}, expected {expected})")
        return ZERO
    try:
        number = parse_amount(value, places)
    except ValueError as exc:
        problems.add(where, f"{exc} (found {value!r}, expected {expected})")
        return ZERO
    if number < 0 or (ratio and number > 1):
        bounds = "between 0 and 1" if ratio else "0 or more"
        problems.add(where, f"out of range (found {value!r}, expected {bounds})")
    return number


def _date(
    raw: Mapping[str, Any], key: str, where: str, problems: _Problems
) -> datetime.date | None:
    value = raw.get(key)
    # tomllib gives a datetime for "2023-01-01T00:00", which is a date subclass: refuse it too.
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    shown = "nothing" if value is None else _found(value)
    problems.add(where, f"not a date (found {shown}, expected an unquoted date such as 2023-01-01)")
    return None


def _unknown(raw: Mapping[str, Any], known: tuple[str, ...], where: str, p: _Problems) -> None:
    for key in raw:
        if key not in known:
            prefix = f"{where}." if where else ""
            p.add(f"{prefix}{key}", f"unknown field (expected one of {', '.join(known)})")


def _tier(raw: object, where: str, problems: _Problems) -> Tier:
    if not isinstance(raw, dict):
        problems.add(where, f"not a table (found {_found(raw)}, expected {{ deductible = ... }})")
        return Tier(ZERO, ZERO, ZERO)
    _unknown(raw, _TIER_FIELDS, where, problems)
    return Tier(
        deductible=_decimal(
            raw.get("deductible"), f"{where}.deductible", problems, places=2, ratio=False
        ),
        in_work=_decimal(
            raw.get("in_work"), f"{where}.in_work", problems, places=RATIO_PLACES, ratio=True
        ),
        retired=_decimal(
            raw.get("retired"), f"{where}.retired", problems, places=RATIO_PLACES, ratio=True
        ),
    )


def _period(raw: object, where: str, problems: _Problems) -> PolicyPeriod | None:
    if not isinstance(raw, dict):
        problems.add(where, f"not a table (found {_found(raw)}, expected [[period]])")
        return None
    _unknown(raw, _PERIOD_FIELDS, where, problems)
    begins = _date(raw, "begins", f"{where}.begins", problems)
    ends = _date(raw, "ends", f"{where}.ends", problems) if "ends" in raw else None
    if begins is not None and ends is not None and ends < begins:
        problems.add(
            f"{where}.ends",
            f"before begins (found {ends}, expected on or after {begins})",
        )
    scope = raw.get("scope")
    if scope not in SCOPES:
        shown = "nothing" if scope is None else _found(scope)
        problems.add(f"{where}.scope", f"not a known scope (found {shown}, expected year or month)")
    cap = _decimal(raw.get("cap"), f"{where}.cap", problems, places=2, ratio=False)
    article = _text(raw, "article", f"{where}.article", problems)
    tiers_raw = raw.get("tiers")
    tiers: dict[str, Tier] = {}
    if not isinstance(tiers_raw, dict):
        shown = "nothing" if tiers_raw is None else _found(tiers_raw)
        problems.add(f"{where}.tiers", f"missing (found {shown}, expected [period.tiers])")
    else:
        for name in TIERS:
            if name not in tiers_raw:
                problems.add(f"{where}.tiers.{name}", "missing (every period prices all 4 tiers)")
            else:
                tiers[name] = _tier(tiers_raw[name], f"{where}.tiers.{name}", problems)
        for name in tiers_raw:
            if name not in TIERS:
                problems.add(
                    f"{where}.tiers.{name}", f"unknown tier (expected one of {', '.join(TIERS)})"
                )
    if begins is None or scope not in SCOPES:
        return None
    return PolicyPeriod(
        begins=begins,
        ends=ends,
        scope=cast(Literal["year", "month"], scope),
        cap=cap,
        tiers=MappingProxyType(tiers),
        article=article,
    )


def _check_overlaps(periods: list[tuple[int, PolicyPeriod]], problems: _Problems) -> None:
    ordered = sorted(periods, key=lambda item: item[1].begins)
    for (index_a, a), (index_b, b) in itertools.pairwise(ordered):
        if a.ends is None or a.ends >= b.begins:
            until = "with no end" if a.ends is None else f"to {a.ends}"
            problems.add(
                f"period[{index_b}].begins",
                f"overlaps period[{index_a}] ({a.begins} {until}) "
                f"(found {b.begins}, expected after the end of period[{index_a}])",
            )


def parse_policy(text: str, source: str) -> Policy:
    """Parse and check a policy file; every problem is reported at once in one PolicyError.

    Fields are named as in the file; periods are counted from 1 (``period[2]`` = the second).
    """
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError([f"{source}: not valid TOML: {exc}"]) from None
    problems = _Problems(source)
    _unknown(raw, _TOP_FIELDS, "", problems)
    region = _text(raw, "region", "region", problems)
    if region and not _REGION.fullmatch(region):
        problems.add("region", f"not a region code (found {region!r}, expected 6 digits)")
    name = _text(raw, "name", "name", problems)
    document = _text(raw, "document", "document", problems)
    med_types_raw = raw.get("med_types")
    if (
        not isinstance(med_types_raw, list)
        or not med_types_raw
        or not all(isinstance(code, str) and code for code in med_types_raw)
    ):
        shown = "nothing" if med_types_raw is None else _found(med_types_raw)
        problems.add("med_types", f'not a list of codes (found {shown}, expected ["11", "12"])')
        med_types_raw = []
    civil_servants = _psn_types(raw, "civil_servants", problems)
    periods_raw = raw.get("period")
    periods: list[tuple[int, PolicyPeriod]] = []
    if not isinstance(periods_raw, list) or not periods_raw:
        problems.add("period", "missing (expected at least one [[period]])")
    else:
        for index, item in enumerate(periods_raw, start=1):
            period = _period(item, f"period[{index}]", problems)
            if period is not None:
                periods.append((index, period))
        _check_overlaps(periods, problems)
    crediting = _crediting(raw.get("crediting", []), problems)
    limits = _indicator_limits(raw.get("indicators", {}), problems)
    pharmacy = _pharmacy(raw.get("pharmacy"), {t for _i, p in periods for t in p.tiers}, problems)
    days = _prescription_days(raw.get("prescription_days", {}), problems)
    monitoring = _monitoring(raw.get("monitoring"), problems)
    if problems.items:
        raise PolicyError(problems.items)
    return Policy(
        region=region,
        name=name,
        document=document,
        med_types=frozenset(med_types_raw),
        civil_servants=civil_servants,
        periods=tuple(sorted((p for _i, p in periods), key=lambda p: p.begins)),
        monitoring=monitoring,
        crediting=tuple(sorted(crediting, key=lambda rule: rule.begins)),
        indicator_limits=limits,
        pharmacy=pharmacy,
        prescription_days=days,
    )


def _pharmacy(raw: Any, tiers: set[str], problems: _Problems) -> PharmacyReading | None:
    """The ``[pharmacy]`` table, or None when the file has none."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.add("pharmacy", "not a table (expected [pharmacy])")
        return None
    _unknown(raw, _PHARMACY_FIELDS, "pharmacy", problems)
    reading = raw.get("reading")
    if reading not in PHARMACY_READINGS:
        problems.add(
            "pharmacy.reading",
            f"not a reading (found {'nothing' if reading is None else _found(reading)}, "
            "expected one of "
            f"{', '.join(PHARMACY_READINGS)})",
        )
        return None
    tier = raw.get("tier")
    if reading == "tier" and tier not in tiers:
        known = ", ".join(sorted(tiers))
        shown = "nothing" if tier is None else _found(tier)
        problems.add("pharmacy.tier", f"not a tier (found {shown}, expected one of {known})")
    if reading == "cap-only" and tier is not None:
        problems.add("pharmacy.tier", "given with the cap-only reading, which uses no tier")
    article = _text(raw, "article", "pharmacy.article", problems)
    return PharmacyReading(str(reading), str(tier) if reading == "tier" else None, article)


def _indicator_limits(raw: Any, problems: _Problems) -> tuple[tuple[str, Decimal], ...]:
    """The ``[indicators]`` table: a ratio per INDICATOR_LIMITS name given."""
    if not isinstance(raw, dict):
        problems.add("indicators", "not a table (expected [indicators])")
        return ()
    _unknown(raw, INDICATOR_LIMITS, "indicators", problems)
    return tuple(
        (name, _decimal(raw[name], f"indicators.{name}", problems, places=4, ratio=True))
        for name in INDICATOR_LIMITS
        if name in raw
    )


def _prescription_days(raw: Any, problems: _Problems) -> PrescriptionDays:
    """``[prescription_days]``: whole days, usual below longest, lists of codes."""
    where, default = "prescription_days", PrescriptionDays()
    if not isinstance(raw, dict):
        problems.add(where, "not a table (expected [prescription_days])")
        return default
    _unknown(raw, _PRESCRIPTION_FIELDS, where, problems)
    days = {}
    for key in ("usual", "longest"):
        value = raw.get(key, getattr(default, key))
        if type(value) is not int or value < 1:
            problems.add(
                f"{where}.{key}",
                f"not a number of days (found {_found(value)}, expected a whole number such as 7)",
            )
            value = getattr(default, key)
        days[key] = value
    if days["usual"] > days["longest"]:
        problems.add(
            f"{where}.usual",
            f"more than longest (found {days['usual']}, expected at most {days['longest']})",
        )
    article = raw.get("article", default.article)
    if not isinstance(article, str) or not article.strip():
        problems.add(
            f"{where}.article",
            f"missing or empty (found {_found(article)}, expected a text in quotes)",
        )
        article = default.article
    return PrescriptionDays(
        days["usual"],
        days["longest"],
        _codes(raw, "reason_med_types", where, default.reason_med_types, problems),
        _codes(raw, "reason_drugs", where, default.reason_drugs, problems),
        article,
    )


def _monitoring(raw: Any, problems: _Problems) -> Monitoring:
    """The required ``[monitoring]`` table: MONITORING_FIELDS, each once, nothing else."""
    if not isinstance(raw, dict):
        shown = "nothing" if raw is None else _found(raw)
        problems.add(
            "monitoring",
            f"missing or not a table (found {shown}, expected a [monitoring] table with "
            f"{', '.join(MONITORING_FIELDS)})",
        )
        # one problem, not one per field: the policy is refused anyway
        return Monitoring(2, 1, 1, ZERO, ZERO)
    _unknown(raw, MONITORING_FIELDS, "monitoring", problems)
    counts = {name: _count(raw.get(name), name, problems) for name in MONITORING_COUNTS}
    return Monitoring(
        min_pharmacies_in_a_day=counts["min_pharmacies_in_a_day"],
        max_visits_in_7_days=counts["max_visits_in_7_days"],
        drain_min_purchases=counts["drain_min_purchases"],
        drain_min_acct_pay=_decimal(
            raw.get("drain_min_acct_pay"),
            "monitoring.drain_min_acct_pay",
            problems,
            places=2,
            ratio=False,
        ),
        drain_acct_share=_decimal(
            raw.get("drain_acct_share"),
            "monitoring.drain_acct_share",
            problems,
            places=RATIO_PLACES,
            ratio=True,
        ),
    )


def _count(value: object, name: str, problems: _Problems) -> int:
    """A count of ``[monitoring]``: a whole TOML number, unquoted, at least _COUNT_LEAST."""
    where, least = f"monitoring.{name}", _COUNT_LEAST[name]
    # a TOML true is a Python bool, which is an int: refuse it too
    if not isinstance(value, int) or isinstance(value, bool):
        shown = "nothing" if value is None else _found(value)
        problems.add(
            where, f"not a whole number (found {shown}, expected a number such as 3, unquoted)"
        )
        return least
    if value < least:
        problems.add(where, f"out of range (found {value}, expected {least} or more)")
    return value


def _crediting(items: Any, problems: _Problems) -> list[CreditingRule]:
    """The ``[[crediting]]`` entries: each a begin date, a share of the base, a monthly sum."""
    if not isinstance(items, list):
        problems.add("crediting", "not a list of [[crediting]] entries")
        return []
    rules = []
    for index, item in enumerate(items, start=1):
        where = f"crediting[{index}]"
        if not isinstance(item, dict):
            problems.add(where, "not a table")
            continue
        _unknown(item, _CREDITING_FIELDS, where, problems)
        begins = _date(item, "begins", f"{where}.begins", problems)
        share = _decimal(
            item.get("in_work_share"),
            f"{where}.in_work_share",
            problems,
            places=RATIO_PLACES,
            ratio=True,
        )
        monthly = _decimal(
            item.get("retiree_monthly"),
            f"{where}.retiree_monthly",
            problems,
            places=2,
            ratio=False,
        )
        article = _text(item, "article", f"{where}.article", problems)
        without = item.get("no_personal_account", ["1103", "1203"])
        if not (isinstance(without, list) and all(_is_psn_type(c) for c in without)):
            shown = _found(without)
            problems.add(
                f"{where}.no_personal_account",
                f'not a list of psn_type codes (found {shown}, expected ["1103", "1203"])',
            )
            without = []
        if begins is not None:
            rules.append(CreditingRule(begins, share, monthly, article, frozenset(without)))
    return rules


def _psn_types(raw: Mapping[str, Any], key: str, problems: _Problems) -> frozenset[str]:
    """A required, non-empty list of psn_type codes (人员类别), such as ``civil_servants``."""
    value = raw.get(key)
    if isinstance(value, list) and value and all(_is_psn_type(code) for code in value):
        return frozenset(value)
    shown = "nothing" if value is None else _found(value)
    problems.add(key, f'not a list of psn_type codes (found {shown}, expected ["1102", "1202"])')
    return frozenset()


def _is_psn_type(code: object) -> bool:
    return isinstance(code, str) and code.isascii() and code.isdigit() and 2 <= len(code) <= 6


def _codes(
    raw: Mapping[str, Any], key: str, where: str, default: frozenset[str], p: _Problems
) -> frozenset[str]:
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(c, str) and c.strip() for c in value):
        p.add(f"{where}.{key}", f'not a list of codes (found {_found(value)}, expected ["14"])')
        return default
    return frozenset(value)


def load_policy(path: Path) -> Policy:
    return parse_policy(path.read_text("utf-8"), str(path))


def books_policy(root: Path, region: str) -> Policy:
    """The books' own ``policy.toml`` if there is one, else the one shipped for the region."""
    own = root / "policy.toml"
    return load_policy(own) if own.is_file() else shipped_policy(region)


def shipped_policy(region: str) -> Policy:
    """The policy shipped for ``region`` in ``reports/audit/policies/<region>.toml``."""
    folder = resources.files("reports.audit").joinpath("policies")
    shipped = sorted(
        entry.name.removesuffix(".toml")
        for entry in (folder.iterdir() if folder.is_dir() else ())
        if entry.name.endswith(".toml")
    )
    # The region becomes a file name: only a plain code may reach the file system.
    resource = folder.joinpath(f"{region}.toml") if _REGION.fullmatch(region) else None
    if resource is None or not resource.is_file():
        raise PolicyError(
            [
                f"reports/audit/policies: region {region!r}: no policy shipped "
                f"(found {', '.join(shipped) or 'none'}, "
                f"expected reports/audit/policies/{region}.toml)"
            ]
        )
    source = f"reports/audit/policies/{region}.toml"
    policy = parse_policy(resource.read_text("utf-8"), source)
    if policy.region != region:
        found = f"found {policy.region!r}, expected {region!r}"
        raise PolicyError([f"{source}: region: not the region of the file's name ({found})"])
    return policy

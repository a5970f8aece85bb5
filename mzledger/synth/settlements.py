"""The settlement exports (``settlements-YYYY-MM.csv``): rows streamed in setl_time order, the
clearing batches' parts summed as they go by."""

from __future__ import annotations

import bisect
import calendar
import heapq
import itertools
from array import array
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import IO

from ledger.month import Month
from mzledger.synth.draws import _half_up, _money, _money_strings, _sample, _words
from mzledger.synth.output import _write_atomic
from mzledger.synth.plants import _CLOSING, _FROM_JANUARY, _PLANTS_2023, _Calc, plant_first
from mzledger.synth.population import (
    _NAMES,
    _has,
    _Inst,
    _institutions,
    _Population,
    _Record,
    _records,
    _undesignated,
)
from mzledger.synth.rows import (
    _CLOCK,
    _INIT,
    _MONEY_INDEX,
    _REFD,
    _SETL_ID,
    _SETL_TIME,
    _VISIT_FEN,
    CLOSE,
    DAY,
    OPEN,
    SETTLEMENT_HEADER,
    _Day,
    _drug_codes,
    _flexible,
    _Refund,
    _Row,
    _Rx,
    _tier,
    _Visit,
)
from mzledger.synth.rules import (
    _CIVIL_SERVANT,
    _NO_ACCOUNT,
    _PROP,
    _PSN_CODES,
    _RETIRED,
    ANNUAL_CAP_FEN,
    DEC_2022,
    DEC_CAP_FEN,
    DEC_DEDUCTIBLE_FEN,
    DEDUCTIBLE_FEN,
    LONG_TERM,
    RATIO_PCT,
    REFERRAL,
    RX_VALID_DAYS,
    TRANSITION,
    _first_day,
    _key,
)
from mzledger.synth.spec import CitySpec, _month_counts, _validate


class _Stream:
    """Settlement rows in setl_time order, one day of draws at a time.

    Memory is bounded by one day's settlement times, the per-person running state (three
    arrays: key, deductible borne and pooled payments, in fen) and the pending queue (same-day
    follow-up settlements and refunds due within a few days), never by the total. A row is its
    CSV line (no line break); each clearing batch's two parts are summed in fen as the rows go
    by (``batch_parts``).
    """

    def __init__(self, spec: CitySpec, pop: _Population | None = None) -> None:
        _validate(spec)
        self.spec = spec
        self.region = spec.region
        self.months = frozenset(map(Month.parse, spec.months))
        insts = _institutions(spec)
        self.pharmacies = [i for i in insts if i.kind == "2"]
        city = [i for i in insts if i.kind == "1" and i.admdvs == spec.region]
        self.hospitals = {lv: [i for i in city if i.lv == lv] for lv in ("1", "2", "3")}
        self.remote = [i for i in insts if i.admdvs != spec.region]
        self.prescribers = [i.code for i in city]
        self.undesignated, self.bad_prescriber = _undesignated(spec)
        self.drugs = _drug_codes(spec)
        self.pop = pop if pop is not None else _Population(spec)
        self.records = _records(spec, self.pop)
        self.long_term = sorted(i for i, r in self.records.items() if r[0][0] == LONG_TERM)
        self.referral = sorted(i for i, r in self.records.items() if r[0][0] == REFERRAL)
        self.bits = bits = _words(f"{spec.seed}/settlements")
        # Serial numbers, written without padding: they stay 12, 11 and 12 digits long.
        self.setl_no = 10**11 + bits(62) % 10**11
        self.mdtrt_no = 10**10 + bits(62) % 10**10
        self.rx_no = 10**11 + bits(62) % 10**11
        self.money = _money_strings()
        # Running outpatient-pooling state per person for one benefit key (year or month):
        # the key's number (keys numbered from 1 as met), deductible borne, pooled payments.
        n = spec.persons
        self.key_no: dict[str, int] = {}
        # (C ints: the deductible and the payments are below the cap, 300,000 fen)
        self.acc_key: array[int] = array("H", bytes(2 * n))
        self.acc_ded: array[int] = array("i", [0]) * n
        self.acc_paid: array[int] = array("i", [0]) * n
        self.pending: list[tuple[int, int, _Visit | _Refund]] = []
        self.seq = 0
        self.days: dict[int, _Day] = {}
        self.batches: dict[Month, dict[_Inst, list[int]]] = {}  # by month
        # Planting: kind -> (from time, key); persons closed for a key; persons with a planted
        # follow-up still to come; what was planted.
        self.slots: dict[str, tuple[int, str]] = {}
        self.open_kinds: tuple[int, tuple[str, ...]] = (-1, ())  # (day, kinds open that day)
        self.closed: dict[int, str] = {}
        self.reserved: set[int] = set()
        self.planted: list[dict[str, str]] = []
        # Persons whose settlements used a family member's account (家庭共济): the day of the
        # first, for their binding (``mzledger.synth.family``).
        self.mutual_aid: dict[int, int] = {}
        # The setl_ids of rows still to come by that have no fee details (``fees``): those
        # to be refunded and the planted second purchases; each leaves as its row goes by.
        self.no_items: set[str] = set()
        if spec.plant_mistakes:
            if TRANSITION in self.months:
                self.slots["monthly-cap"] = (_first_day(TRANSITION) * DAY, DEC_2022)
            m2023 = [m for m in map(Month.parse, spec.months) if m.year == 2023]
            for n, kind in enumerate(_PLANTS_2023 if m2023 else ()):
                m = m2023[0 if kind in _FROM_JANUARY else n * len(m2023) // len(_PLANTS_2023)]
                self.slots[kind] = (_first_day(m) * DAY, "2023")

    def _day(self, day: int) -> _Day:
        info = self.days.get(day)
        if info is None:
            month = Month.of(date.fromordinal(day))
            key = _key(month)
            key_no = 0 if key is None else self.key_no.setdefault(key, len(self.key_no) + 1)
            batches = self.batches.setdefault(month, {})
            info = self.days[day] = _Day(day, month, key, key_no, batches)
        return info

    def batch_parts(self) -> dict[tuple[Month, str, str], tuple[int, int]]:
        """(month of setl_time, fixmedins_code, clr_type) -> (pooled, personal) parts in fen."""
        return {
            (month, inst.code, inst.clr): (pooled, personal)
            for month, batches in self.batches.items()
            for inst, (pooled, personal) in batches.items()
        }

    def _push(self, t: int, item: _Visit | _Refund) -> None:
        self.seq += 1
        heapq.heappush(self.pending, (t, self.seq, item))

    def _open_kinds(self, info: _Day, day: int) -> tuple[str, ...]:
        """The kinds of mistake still to plant that are open on this day (their start is a
        day's beginning, so a whole day is in or out), computed once a day and on a plant."""
        if self.open_kinds[0] != day:
            t = day * DAY
            kinds = tuple(
                k for k, (since, k_key) in self.slots.items() if since <= t and k_key == info.key
            )
            self.open_kinds = (day, kinds)
        return self.open_kinds[1]

    def _close_slot(self, kind: str) -> None:
        self.slots.pop(kind, None)
        self.open_kinds = (-1, ())

    def _free(self, person: int, key: str) -> bool:
        """May a mistake be planted on this person in this key?"""
        return self.closed.get(person) != key and person not in self.reserved

    def _note(self, rule: str, row_setl_id: str, note: str) -> None:
        self.planted.append({"rule": rule, "setl_id": row_setl_id, "note": note})

    def months_rows(self) -> Iterator[tuple[str, Iterator[_Row]]]:
        """(month, its rows) for each month of the spec; each month's rows are all dated in
        it. Read each month's rows before asking for the next month."""
        for month, count in zip(self.spec.months, _month_counts(self.spec), strict=True):
            yield month, self._month(Month.parse(month), count)

    def rows(self) -> Iterator[_Row]:
        for _month, rows in self.months_rows():
            yield from rows

    def _month(self, month: Month, n: int) -> Iterator[_Row]:
        """The month's rows: n new visits, drawn day by day and settled as they come, with the
        pending follow-up settlements and refunds in between. (The hot loop: the new visit is
        drawn here rather than in a method of its own.)"""
        bits, pending, closed = self.bits, self.pending, self.closed
        settle, flush, bisect_right = self._settle, self._flush, bisect.bisect_right
        remote, pharmacies, hospitals = self.remote, self.pharmacies, self.hospitals
        long_term, referral = self.long_term, self.referral
        total, uppers, classes = self.pop.total, self.pop.uppers, self.pop.classes
        ndays = calendar.monthrange(month.year, month.month)[1]
        counts = [n // ndays] * ndays
        for d in _sample(bits, ndays, n % ndays):
            counts[d] += 1
        first = _first_day(month)
        # Force one refund per month boundary so "refunds net in the period in which they
        # were settled" is always exercised: the first settlement on the last day.
        force = self._day(first + ndays).month in self.months
        span = CLOSE - OPEN
        for day in range(ndays):
            info = self._day(first + day)
            key = info.key
            opening = (first + day) * DAY + OPEN
            last = force and day == ndays - 1
            for offset in sorted([bits(30) % span for _ in range(counts[day])]):
                t = opening + offset
                if pending and pending[0][0] <= t:
                    yield from flush(t)
                # The person, drawn in proportion to their weight (see _Population).
                u = bits(62) % total
                base, weight, persons = classes[bisect_right(uppers, u)]
                person = persons[(u - base) // weight]
                # One draw for where (percent), the hospital's level (percent), med_type
                # (percent) and which institution of its kind.
                w = bits(62)
                r, which = w % 100, w // 1_000_000
                if r < 3:  # a hospital outside the city
                    inst = remote[which % len(remote)]
                    med_type = "13" if w // 100 % 100 < 35 else "11"
                    r = w // 10_000 % 10
                    if r < 4 and long_term:
                        person = long_term[bits(30) % len(long_term)]
                    elif r < 7 and referral:
                        person = referral[bits(30) % len(referral)]
                elif r < 33:
                    inst, med_type = pharmacies[which % len(pharmacies)], "41"
                else:
                    r, r2 = w // 100 % 100, w // 10_000 % 100
                    level = hospitals["1" if r < 45 else "2" if r < 75 else "3"]
                    inst = level[which % len(level)]
                    med_type = "11" if r2 < 72 else "12" if r2 < 84 else "13" if r2 < 95 else "14"
                if closed and key is not None and closed.get(person) == key:
                    person, inst, med_type = self._redraw(key, inst, med_type)
                self.mdtrt_no += 1
                mdtrt_id = f"XM{self.mdtrt_no}"  # 11 digits: see __init__
                yield settle(t, info, person, inst, mdtrt_id, med_type, "", None, last)
                last = False
        yield from flush((first + ndays) * DAY - 1)

    def _redraw(self, key: str, inst: _Inst, med_type: str) -> tuple[int, _Inst, str]:
        """A closed person has no further covered settlement in the key: another person; when
        none is drawn, a purchase, which never uses pooling."""
        for _ in range(19):
            person = self.pop.pick(self.bits)
            if self.closed.get(person) != key:
                return person, inst, med_type
        return person, self.pharmacies[self.bits(30) % len(self.pharmacies)], "41"

    def _flush(self, until: int) -> Iterator[_Row]:
        while self.pending and self.pending[0][0] <= until:
            t, _, item = heapq.heappop(self.pending)
            info = self._day(t // DAY)
            if isinstance(item, _Visit):
                p, inst, mdtrt_id, med_type, plant, rx = item
                if not plant and info.key is not None and self.closed.get(p) == info.key:
                    continue  # a closed person has no further covered settlement in the key
                yield self._settle(t, info, p, inst, mdtrt_id, med_type, plant, rx, False)
            else:
                yield self._refund(t, info, item)

    def _refund_time(self, t: int, force: bool) -> int | None:
        """When the settlement at t is refunded (~1 % are), or None. Draws nothing when it is
        not forced and ``draw`` (the caller's draw, % 1000) says no refund."""
        bits = self.bits
        if force:  # early next month
            at = (t // DAY + 1 + bits(30) % 2) * DAY + OPEN + bits(30) % (CLOSE - OPEN)
        elif (d := bits(30) % 7) == 0:
            if t % DAY + 60 >= CLOSE:
                return None
            at = t + 60 + bits(30) % (CLOSE - t % DAY - 60)
        else:
            at = (t // DAY + d) * DAY + OPEN + bits(30) % (CLOSE - OPEN)
        return at if self._day(at // DAY).month in self.months else None

    def _flag(self, med_type: str, day: int, records: list[_Record] | None) -> str:
        """emergency_flag outside the city: "1" on an emergency (13) visit of a person with
        neither a residence nor a referral record that day (the only case where the 急危重 list
        decides), else "0". (Empty in the city.)"""
        unreferred = not (_has(records, LONG_TERM, day) or _has(records, REFERRAL, day))
        return "1" if med_type == "13" and unreferred else "0"

    def _settle(
        self,
        t: int,
        info: _Day,
        pi: int,
        inst: _Inst,
        mdtrt_id: str,
        med_type: str,
        v_plant: str,
        v_rx: _Rx | None,
        force_refund: bool,
    ) -> _Row:
        """One settlement of person ``pi``'s visit at t (on day ``info``); v_plant and v_rx as
        in _Visit. The hot path: about a dozen draws, integer fen, one f-string."""
        bits = self.bits
        day = t // DAY
        key = info.key
        ptype = self.pop.types[pi]
        # One draw for seven decisions: refund (per mille), then whether there are amounts
        # wholly at the person's charge, over the limit and partly self-paid (percent each),
        # medical aid (per mille), the personal account and the mutual-aid one (percent each).
        w = bits(62)
        refund_at = None
        if not v_plant and (force_refund or w % 1000 < 10):
            refund_at = self._refund_time(t, force_refund)
        kinds: Sequence[str] = ()
        if self.slots and not v_plant and refund_at is None and key:
            today, kinds = self.open_kinds
            if today != day:
                kinds = self._open_kinds(info, day)
            if kinds and not self._free(pi, key):
                kinds = ()
        if inst.kind == "2":
            fen = 800 + bits(30) % 29_201
        elif med_type == "12":  # registration only
            fen = 500 + bits(30) % 2_501
        elif med_type == "13":
            fen = 8_000 + bits(30) % 142_001
        else:
            low, count = _VISIT_FEN[inst.lv]
            fen = low + bits(30) % count
        inscp = fen * self.pop.mult[pi]
        ful = 100 + bits(30) % 7_901 if w // 1_000 % 100 < 35 else 0
        over = 50 + bits(30) % 2_951 if w // 100_000 % 100 < 8 else 0
        pre = 100 + bits(30) % 4_901 if w // 10_000_000 % 100 < 15 else 0
        medfee = ful + over + pre + inscp
        ded = pay = cvl = maf = 0
        prop = ""
        flag = self._flag(med_type, day, self.records.get(pi)) if inst.remote else ""
        found: Sequence[tuple[str, str]] = ()  # planted on this settlement: (rule, note)
        plant = ""
        # Pharmacy purchases and chronic-disease (14) visits do not use outpatient pooling here;
        # nothing before the rules took effect (2022-12) does either.
        if inst.kind == "1" and med_type != "14" and key is not None:
            pooled = self._pooled(
                t, info, pi, inst, mdtrt_id, med_type, inscp, flag, v_plant, refund_at, kinds
            )
            ded, pay, prop, cvl, inst, plant, found = pooled
        w //= 1_000_000_000  # what is left of the draw: medical aid, the accounts
        if w % 1000 < 5:  # a handful of medical-aid payments
            maf = min(500 + bits(30) % 4_501, medfee - pay - cvl)
        part = medfee - pay - cvl - maf
        acct = mulaid = 0
        if not _NO_ACCOUNT[ptype]:
            r = w // 1000 % 100
            acct = part if r < 60 else bits(30) % (part + 1) if r < 85 else 0
            if acct and w // 100_000 % 100 < 4:  # family mutual-aid account pays part
                mulaid = 1 + bits(30) % acct
                acct -= mulaid
                self.mutual_aid.setdefault(pi, day)
        elif "flexible" in kinds and not found and part > 0:
            acct = 1 + bits(30) % part
            found, plant = _flexible(ptype, acct), "flexible"
        rx = ",,,"
        if inst.kind == "2":
            rx, plant, found = self._prescription(t, info, pi, inst, v_rx, kinds, plant, found)
        if plant and key is not None:
            self._planted(pi, key, plant, found)
        if v_plant == "same-drug":
            self.no_items.add(f"X{self.setl_no + 1}")  # numbered next, in _row
        amounts = (medfee, ful, over, pre, inscp, ded, pay, cvl, maf, acct, mulaid)
        return self._row(t, info, pi, inst, mdtrt_id, med_type, amounts, prop, flag, rx, refund_at)

    def _pooled(
        self,
        t: int,
        info: _Day,
        pi: int,
        inst: _Inst,
        mdtrt_id: str,
        med_type: str,
        inscp: int,
        flag: str,
        v_plant: str,
        refund_at: int | None,
        kinds: Sequence[str],
    ) -> tuple[int, int, str, int, _Inst, str, Sequence[tuple[str, str]]]:
        """A pooling-type settlement as the rule pays it (or as a planted mistake reports it):
        (deductible, hifp_pay, ratio, civil-servant subsidy, institution, plant, planted), the
        person's running state moved on."""
        bits, day, key = self.bits, t // DAY, info.key
        ptype = self.pop.types[pi]
        records = self.records.get(pi)
        remote = inst.remote
        ded = pay = cvl = 0
        prop = plant = ""
        found: Sequence[tuple[str, str]] = ()
        # The rule's view of a pooling-type settlement.
        if records is None and not remote:  # most: the institution's tier, covered
            tier, why_not = inst.tier, ""
        else:
            tier, why_not = _tier(inst, records, day, flag)
        if self.acc_key[pi] != info.key_no:  # December 2022 does not carry into 2023
            self.acc_key[pi], self.acc_ded[pi], self.acc_paid[pi] = info.key_no, 0, 0
        borne, paid = self.acc_ded[pi], self.acc_paid[pi]
        if key == DEC_2022:
            d_l, cap = DEC_DEDUCTIBLE_FEN, DEC_CAP_FEN
        else:
            d_l, cap = DEDUCTIBLE_FEN[tier], ANNUAL_CAP_FEN
        pct = RATIO_PCT[tier][_RETIRED[ptype]]
        # min(inscp, max(0, d_l - borne)), min(full, cap - paid), without the calls
        c_ded = 0 if borne >= d_l else inscp if inscp < d_l - borne else d_l - borne
        full = ((inscp - c_ded) * pct + 50) // 100  # >= 0: half up is this
        # cap - paid is on the fen, so capping after rounding equals capping before it
        c_pay = full if full < cap - paid else cap - paid
        covered = not why_not
        if covered:
            ded, pay, prop = c_ded, c_pay, _PROP[pct]
        if kinds:
            c = _Calc(inscp, covered, why_not, d_l, cap, pct, borne, paid, c_ded, full, c_pay)
            made = plant_first(kinds, c, inst, med_type, bits, self.undesignated.code)
            if made is not None:
                ded, pay, found, plant = made
                prop = _PROP[pct]
                if plant == "non-designated":
                    inst = self.undesignated
        if v_plant == "duplicate":  # the rule: 0 (the first settlement exhausted it)
            ded = min(inscp, d_l)
            found, plant = self._duplicate(pi, ded, mdtrt_id), "duplicate"
        # A settlement that will be refunded is computed from the state at its time but does
        # not enter the state: the audit recomputes the year without it and its refund, so
        # every later settlement must already be computed as if it never happened. The state
        # follows the rule, never a planted amount.
        if covered and plant != "non-designated" and refund_at is None:
            borne += c_ded
            self.acc_ded[pi], self.acc_paid[pi] = borne, paid + c_pay
            # Occasionally a second settlement of the same visit, same day, same institution.
            # Only when this one exhausted the deductible, so it bears none both by the
            # cumulative rule and by Shanxi art. 22 (only a visit's first settlement bears it).
            dup = "duplicate" in kinds and not plant and c_ded > 0
            if borne >= d_l and not v_plant and not plant and (dup or bits(30) % 25 == 0):
                self._again(t, pi, inst, mdtrt_id, dup)
        if ptype == _CIVIL_SERVANT:  # civil-servant subsidy on the policy-scope remainder
            cvl = _half_up((inscp - pay) * (10 + bits(30) % 21))
        return ded, pay, prop, cvl, inst, plant, found

    def _duplicate(self, pi: int, ded: int, mdtrt_id: str) -> list[tuple[str, str]]:
        """The planted second settlement of a visit charges the deductible again."""
        self.reserved.discard(pi)
        note = (
            f"deductible charged again ({_money(ded)}) in a second settlement of visit "
            f"{mdtrt_id}; due 0.00 after the first"
        )
        return [("duplicate-visit-deductible", note)]

    def _again(self, t: int, pi: int, inst: _Inst, mdtrt_id: str, dup: bool) -> None:
        """A second settlement of the visit later the same day (planted: ``dup``), when the
        day still has time for it."""
        t2 = t + 300 + self.bits(30) % 5_100
        if t2 % DAY < CLOSE and t2 // DAY == t // DAY:
            again = "duplicate" if dup else ""
            self._push(t2, _Visit(pi, inst, mdtrt_id, "11", again))
            if dup:
                self._close_slot("duplicate")
                self.reserved.add(pi)

    def _planted(self, pi: int, key: str, plant: str, found: Sequence[tuple[str, str]]) -> None:
        """Note what was planted on the settlement about to be numbered; its kind is done, and
        a closing kind closes the person for the key."""
        for rule, note in found:
            self._note(rule, f"X{self.setl_no + 1}", note)
        self._close_slot(plant)
        if plant in _CLOSING:
            self.closed[pi] = key

    def _row(
        self,
        t: int,
        info: _Day,
        pi: int,
        inst: _Inst,
        mdtrt_id: str,
        med_type: str,
        amounts: tuple[int, ...],
        prop: str,
        flag: str,
        rx: str,
        refund_at: int | None,
    ) -> _Row:
        """The settlement's CSV line under the next setl_id, its parts added to its batch, its
        refund queued."""
        medfee, ful, over, pre, inscp, ded, pay, cvl, maf, acct, mulaid = amounts
        self.setl_no += 1
        setl_id = f"X{self.setl_no}"  # 12 digits: see __init__
        batch = info.batches.get(inst)
        if batch is None:
            batch = info.batches[inst] = [0, 0]
        personal = acct + mulaid
        batch[0] += pay
        batch[1] += personal
        money, pop = self.money, self.pop
        fund = pay + cvl + maf
        part = medfee - fund
        cash = part - personal
        # Three f-strings: one of more than 30 parts would be built through a list.
        row = (
            (
                f"{setl_id},{mdtrt_id},Q{pop.base + pi},{_NAMES[pop.names[pi]]},"
                f"{pop.certs[18 * pi : 18 * pi + 18]},{_PSN_CODES[pop.types[pi]]},310,"
                f"{med_type},{info.text} {_CLOCK[t % DAY - OPEN]},{inst.fields},"
            )
            + (
                f"{money[medfee]},{money[ful]},{money[over]},{money[pre]},{money[inscp]},"
                f"{money[ded]},{money[pay]},{prop},{money[cvl]},0.00,0.00,0.00,"
            )
            + (
                f"{money[maf]},0.00,{money[fund]},{money[part]},{money[acct]},"
                f"{money[mulaid]},{money[cash]},{inst.tail}{flag},{rx}"
            )
        )
        if refund_at is not None:
            self._push(refund_at, _Refund(row, inst, pay, personal))
            self.no_items.add(setl_id)
        return row

    def _prescription(
        self,
        t: int,
        info: _Day,
        pi: int,
        inst: _Inst,
        v_rx: _Rx | None,
        kinds: Sequence[str],
        plant: str,
        found: Sequence[tuple[str, str]],
    ) -> tuple[str, str, Sequence[tuple[str, str]]]:
        """The prescription of a pharmacy purchase (written 0-3 days before), possibly planted:
        its four fields joined, the plant, what was planted."""
        bits = self.bits
        day = t // DAY
        if v_rx is not None:  # the planted second purchase of one prescription's drug
            note = f"rx {v_rx[0]} drug {v_rx[3]} already bought at another pharmacy"
            return ",".join(v_rx), "same-drug", [("same-drug-two-institutions", note)]
        self.rx_no += 1
        rx_no = f"CF{self.rx_no}"
        prescriber = self.prescribers[bits(30) % len(self.prescribers)]
        w = bits(30)  # the lag (days) and the drug
        lag, drug = w % (RX_VALID_DAYS + 1), self.drugs[w // 16 % len(self.drugs)]
        if not plant:
            if "rx-expired" in kinds:
                lag, plant = RX_VALID_DAYS + 2, "rx-expired"
                found = [("prescription-expired", f"rx written {lag} days before the purchase")]
            elif "rx-not-designated" in kinds:
                prescriber, plant = self.bad_prescriber, "rx-not-designated"
                note = f"rx written by {prescriber}, not a designated institution"
                found = [("prescription-not-designated", note)]
            elif (
                "same-drug" in kinds
                and (others := [p for p in self.pharmacies if p is not inst])
                and self._day(day + 1).month in self.months
            ):
                lag = bits(30) % RX_VALID_DAYS  # still valid on the next day
                rx = (rx_no, prescriber, info.back[lag], drug)
                other = others[bits(30) % len(others)]
                # the next day: the earliest a second purchase of it is planted
                t2 = (day + 1) * DAY + OPEN + bits(30) % (CLOSE - OPEN)
                self.mdtrt_no += 1
                second = _Visit(pi, other, f"XM{self.mdtrt_no}", "41", "same-drug", rx)
                self._push(t2, second)
                self._close_slot("same-drug")
        return f"{rx_no},{prescriber},{info.back[lag]},{drug}", plant, found

    def _refund(self, t: int, info: _Day, due: _Refund) -> _Row:
        """2208 reversal: new setl_id, same visit, every money field negated."""
        self.setl_no += 1
        row = due.row.split(",")
        for i in _MONEY_INDEX:
            if row[i] != "0.00":  # never write "-0.00"; the originals are never negative
                row[i] = "-" + row[i]
        row[_INIT], row[_REFD] = row[_SETL_ID], "1"
        row[_SETL_ID] = f"X{self.setl_no}"
        row[_SETL_TIME] = f"{info.text} {_CLOCK[t % DAY - OPEN]}"
        batch = info.batches.get(due.inst)
        if batch is None:
            batch = info.batches[due.inst] = [0, 0]
        batch[0] -= due.pooled
        batch[1] -= due.personal
        return ",".join(row)


def iter_settlement_rows(spec: CitySpec) -> Iterator[dict[str, str]]:
    """All months' settlement rows, in (setl_time, setl_id) order, streamed."""
    stream = _Stream(spec)
    return (dict(zip(SETTLEMENT_HEADER, row.split(","), strict=True)) for row in stream.rows())


def planted_mistakes(spec: CitySpec) -> list[dict[str, str]]:
    """What planted.json lists for this spec (runs the whole stream, keeping nothing else)."""
    stream = _Stream(spec)
    for _ in stream.rows():
        pass
    return _sorted_planted(stream.planted)


def _sorted_planted(planted: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(planted, key=lambda p: (p["rule"], p["setl_id"]))


def _write_settlements(path: Path, rows: Iterator[_Row]) -> tuple[Path, int]:
    """A month's settlement file; returns it and its row count."""
    count = 0

    def write(fh: IO[str]) -> None:
        nonlocal count
        fh.write(",".join(SETTLEMENT_HEADER) + "\n")
        while chunk := list(itertools.islice(rows, 4096)):
            fh.write("\n".join(chunk))
            fh.write("\n")
            count += len(chunk)

    return _write_atomic(path, write), count

"""Deterministic synthetic settlement exports for a small city's employee outpatient pooling.

Used by the demo, the tests, ``mzledger synth`` and the benchmarks. Everything is drawn from
``random.Random`` instances seeded from the spec (never the global generator, never the clock);
amounts are drawn and computed as integer fen, never float (the rule's ROUND_HALF_UP done
exactly on integers), and written from a table of money strings; the bank statements carry
``Decimal``. Pooled payments follow the Anshan rules
(domain.md section 4) so that an audit recomputation over the generated data finds no deviation,
except for the handful of mistakes planted on purpose (``CitySpec.plant_mistakes``), which are
listed in ``planted.json`` beside the exports: the audit's known answer.

The city: designated hospitals and pharmacies (``institutions.csv``), two hospitals outside the
city where a few insured persons are treated (long-term residence elsewhere, referral, emergency
or none of these), person records (``persons.csv``: residence, referral, arrears periods) and one
settlement file per month, with pharmacy purchases carrying their prescription, and its fee
details (``fee-details-YYYY-MM.csv``, 费用明细: each settlement's items, adding up to it
exactly), and the family bindings (``family-bindings.csv``, 家庭共济) the settlements'
mutual-aid payments use.

The bank side: the agency pays each month's clearing batches (settlements grouped by month,
institution and clr_type) on the 10th of the next month, the pooled part (hifp_pay) from the
统筹基金 disbursement account (100401), the personal-account part (acct_pay + acct_mulaid_pay)
from the 个人账户 one (100402). ``bank-<code>-<YYYY-MM>.csv`` is each account's statement of a
payment month in the generic layout: the fiscal special account's transfer in on the 2nd (the
month's payments rounded up to 10,000.00), one line per batch on the 10th (a batch whose refunds
exceed its settlements brings money back), quarterly interest on the 21st of March, June,
September and December. ``bank-1003-<YYYY-MM>.csv`` is the fiscal special account's statement
(``fiscal``): those transfers on the 2nd, the month's contributions received on the 25th, and
once each a fiscal subsidy, a personal account transferred in and one out, a benefit recovered,
and the quarter's interest. ``bank-accounts.json`` says which statements belong to which books
account. The batch sums are gathered while the settlements stream by; rows are never kept.

Speed (tens of thousands of rows a second, in one process): a row is one f-string; the per-person
state is a few arrays (a million persons take tens of MB); one 62-bit draw often serves several
decisions; what a row repeats (an institution's fields, a day's date, the visit weights' classes)
is computed once.

The modules, by what they write: ``spec`` (the city's shape, its months), ``population`` (the
institution list and the persons with their records), ``settlements`` (the month files, the
rows streamed), ``fees`` (the fee details, each month's beside its settlements), ``bank``
(the disbursement accounts' statements and bank-accounts.json),
``fiscal`` (the fiscal special account's statements), ``contributions`` (the collections),
``opening`` (the opening trial balance), ``family`` (the family bindings), ``city``
(``write_city``: all of them and planted.json); beside them ``rules`` (the benefit rule in
fen), ``plants`` (the planted mistakes), ``draws`` (seeded draws, money strings) and
``output`` (atomic files).
"""

from __future__ import annotations

from mzledger.synth.bank import BANK_ACCOUNTS, BANK_HEADER, FISCAL_ACCOUNT_NAME, fiscal_account_name
from mzledger.synth.city import write_city
from mzledger.synth.contributions import RECEIVED_DAY
from mzledger.synth.family import FAMILY_BINDINGS_FILE, FAMILY_HEADER, family_rows
from mzledger.synth.plants import PLANTED_RULES
from mzledger.synth.population import (
    INSTITUTION_HEADER,
    PERSON_HEADER,
    institution_rows,
    person_rows,
)
from mzledger.synth.rows import MONEY_FIELDS, SETTLEMENT_HEADER
from mzledger.synth.settlements import iter_settlement_rows, planted_mistakes
from mzledger.synth.spec import MAX_PERSONS, CitySpec, _month_counts, parse_months

__all__ = [
    "BANK_ACCOUNTS",
    "BANK_HEADER",
    "FAMILY_BINDINGS_FILE",
    "FAMILY_HEADER",
    "FISCAL_ACCOUNT_NAME",
    "INSTITUTION_HEADER",
    "MAX_PERSONS",
    "MONEY_FIELDS",
    "PERSON_HEADER",
    "PLANTED_RULES",
    "RECEIVED_DAY",
    "SETTLEMENT_HEADER",
    "CitySpec",
    "_month_counts",
    "family_rows",
    "fiscal_account_name",
    "institution_rows",
    "iter_settlement_rows",
    "parse_months",
    "person_rows",
    "planted_mistakes",
    "write_city",
]

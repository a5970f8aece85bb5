"""Family bindings (家庭共济, Anshan art. 13): imported once, checked whole; the audit's
mutual-aid rules on a hand-made register, each finding with its exact evidence."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from ledger.books import Books
from ledger.register.models import FamilyBinding, ImportedFile
from ledger.register.opening import resolve_url
from mzledger.synth import FAMILY_BINDINGS_FILE, CitySpec, write_city
from reports.audit.policy import shipped_policy
from reports.audit.rows import Binding
from reports.audit.rules.accounts import without_personal_account
from tests.conftest import Cli, settlement, write_csv

GOLDEN = Path(__file__).parent / "golden" / "family_bindings"
D = datetime.date


def _bindings(books: Path) -> list[tuple[object, ...]]:
    engine = create_engine(resolve_url(Books(books).read_config().db_url, books))
    with engine.connect() as conn:
        rows: list[tuple[object, ...]] = [
            tuple(row)
            for row in conn.execute(
                select(
                    FamilyBinding.holder_psn_no,
                    FamilyBinding.user_psn_no,
                    FamilyBinding.relation,
                    FamilyBinding.begndate,
                    FamilyBinding.enddate,
                    FamilyBinding.line,
                ).order_by(FamilyBinding.id)
            )
        ]
    engine.dispose()
    return rows


def _files(books: Path) -> int:
    engine = create_engine(resolve_url(Books(books).read_config().db_url, books))
    with engine.connect() as conn:
        count = int(conn.execute(select(func.count()).select_from(ImportedFile)).scalar_one())
    engine.dispose()
    return count


GOOD = [
    ("H0001", "U0001", "spouse", D(2023, 1, 1), None, 2),
    ("H0001", "U0002", "child", D(2022, 6, 1), D(2023, 6, 30), 3),
    ("H0002", "U0003", "parent", D(2023, 2, 15), D(2023, 12, 31), 4),
    ("H0003", "U0004", "other", D(2023, 1, 1), None, 5),
]  # line 6 repeats line 2: skipped


def test_import_once_then_skip_known_bindings(books: Path, cli: Cli) -> None:
    (cli.cwd / "fb.csv").write_bytes((GOLDEN / "good.csv").read_bytes())
    _code, out, _err = cli("import", "family-bindings", "fb.csv", "--books", "books")
    assert out == "fb.csv: 5 bindings, 4 new or changed\n"
    assert _bindings(books) == GOOD
    _code, out, _err = cli("import", "family-bindings", "fb.csv", "--books", "books")
    assert out == "fb.csv: already imported (same sha256), nothing to do\n"
    assert _bindings(books) == GOOD


def test_a_gb18030_file_reads_as_the_utf8_one(books: Path, cli: Cli) -> None:
    data = (GOLDEN / "good-gb18030.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # not UTF-8: the reader must take it as GB18030
    (cli.cwd / "gb.csv").write_bytes(data)
    _code, out, _err = cli("import", "family-bindings", "gb.csv", "--books", "books")
    assert out == "gb.csv: 5 bindings, 4 new or changed\n"
    assert _bindings(books) == GOOD
    # the same bindings in UTF-8: another file, nothing new
    (cli.cwd / "fb.csv").write_bytes((GOLDEN / "good.csv").read_bytes())
    _code, out, _err = cli("import", "family-bindings", "fb.csv", "--books", "books")
    assert out == "fb.csv: 5 bindings, 0 new or changed\n"
    assert _bindings(books) == GOOD


def test_a_bad_file_says_every_problem_and_writes_nothing(books: Path, cli: Cli) -> None:
    (cli.cwd / "bad.csv").write_bytes((GOLDEN / "bad.csv").read_bytes())
    files = _files(books)
    _code, out, err = cli("import", "family-bindings", "bad.csv", "--books", "books", expect=1)
    assert out == ""
    assert err.splitlines() == (GOLDEN / "bad.expected").read_text("utf-8").splitlines()
    assert _bindings(books) == [] and _files(books) == files
    (cli.cwd / "cols.csv").write_text("holder_psn_no,user_psn_no,relation\nH1,U1,spouse\n")
    _code, _out, err = cli("import", "family-bindings", "cols.csv", "--books", "books", expect=1)
    assert "cols.csv:1: begndate: required column missing from the header" in err
    assert "cols.csv:1: enddate: required column missing from the header" in err


def test_a_file_of_another_kind_is_refused(books: Path, cli: Cli) -> None:
    (cli.cwd / "p.csv").write_text("psn_no,record,begndate,enddate\nQ1,arrears,2023-01-01,\n")
    cli("import", "persons", "p.csv", "--books", "books")
    _code, _out, err = cli("import", "family-bindings", "p.csv", "--books", "books", expect=1)
    assert "p.csv:1: holder_psn_no: required column missing from the header" in err


# The audit. Every mutual-aid settlement: 100.00 at a level-1 hospital, below the deductible
# (the fund pays 0), of which 30.00 from a family member's account and 70.00 in cash.
INSTITUTIONS = """fixmedins_code,fixmedins_name,fixmedins_type,medins_lv,spec_hosp,admdvs
H1,一级社区医院,1,1,0,
"""
BINDINGS = """holder_psn_no,user_psn_no,relation,begndate,enddate
HA,U1,spouse,2023-01-01,
HA,U3,child,2023-01-01,2023-04-30
HA,U4,other,2023-01-01,
HA,U5,spouse,2023-01-01,
HF,U6,parent,2023-01-01,
HS,U7,spouse,2023-01-01,
HN,U8,child,2023-01-01,
HF,U9,spouse,2023-01-01,
HA,U9,child,2023-02-01,
"""
# HF a flexible worker by his contribution rows, HA an employee and HS a flexible retiree by
# their own settlements; HN is nowhere in the register
CONTRIBUTIONS = """period,psn_no,psn_type,contribution_base,employer_amount,employee_amount
2023-01,HF,1103,3000.00,0.00,240.00
"""


def _mutual_aid(setl_id: str, psn_no: str, day: str, psn_type: str = "1101") -> dict[str, str]:
    return settlement(
        setl_id,
        psn_no,
        f"{day} 09:00:00",
        "H1",
        "100.00",
        "0.00",
        psn_type=psn_type,
        acct_mulaid_pay="30.00",
        psn_cash_pay="70.00",
    )


ROWS = [
    settlement("SA", "HA", "2023-01-10 09:00:00", "H1", "100.00", "0.00"),
    settlement("SS", "HS", "2023-01-10 10:00:00", "H1", "100.00", "0.00", psn_type="1203"),
    _mutual_aid("M1", "U1", "2023-03-01"),  # a spouse's binding in force: nothing
    _mutual_aid("M2", "U2", "2023-03-01"),  # no binding at all
    _mutual_aid("M3", "U3", "2023-05-01"),  # the child's binding ended on 2023-04-30
    _mutual_aid("M4", "U4", "2023-03-01"),  # "other" is not a relation art. 13 names
    _mutual_aid("M5", "U5", "2023-03-01", psn_type="1103"),  # the user a flexible worker
    _mutual_aid("M6", "U6", "2023-03-01"),  # the holder a flexible worker (contributions)
    _mutual_aid("M7", "U7", "2023-03-01"),  # the holder a flexible retiree (settlements)
    _mutual_aid("M8", "U8", "2023-03-01"),  # the holder unknown to the register: not judged
    _mutual_aid("M9", "U9", "2023-01-20"),  # only the flexible holder's binding in force yet
    _mutual_aid("M10", "U9", "2023-02-20"),  # then an employee's too: nothing
    settlement("N1", "U2", "2023-03-02 09:00:00", "H1", "100.00", "0.00"),  # no mutual aid
]


@pytest.fixture
def audited(books: Path, cli: Cli) -> Path:
    (cli.cwd / "institutions.csv").write_text(INSTITUTIONS, "utf-8")
    (cli.cwd / "bindings.csv").write_text(BINDINGS, "utf-8")
    (cli.cwd / "contributions.csv").write_text(CONTRIBUTIONS, "utf-8")
    write_csv(cli.cwd / "settlements.csv", ROWS)
    cli("import", "institutions", "institutions.csv", "--books", "books")
    cli("import", "family-bindings", "bindings.csv", "--books", "books")
    cli(
        "import",
        "contributions",
        "contributions.csv",
        "--received-on",
        "2023-01-25",
        "--books",
        "books",
    )
    cli("import", "settlements", "settlements.csv", "--books", "books")
    return books


def _findings(cli: Cli, jobs: str = "1") -> dict[tuple[str, str], dict[str, object]]:
    _code, out, _err = cli(
        "audit", "--period", "2023", "--format", "json", "--jobs", jobs, "--books", "books",
        expect=3,
    )  # fmt: skip
    return {(f["rule"], f["setl_id"]): f for f in json.loads(out)}


NOT_BOUND = "mutual-aid-without-family-binding"
NO_ACCOUNT = "mutual-aid-no-personal-account"


def test_mutual_aid_findings_with_their_evidence(audited: Path, cli: Cli) -> None:
    found = _findings(cli)
    # three worker processes, each reading its own people's bindings, find the same
    assert _findings(cli, jobs="3") == found
    assert set(found) == {
        (NOT_BOUND, "M2"),
        (NOT_BOUND, "M3"),
        (NOT_BOUND, "M4"),
        (NO_ACCOUNT, "M5"),
        (NO_ACCOUNT, "M6"),
        (NO_ACCOUNT, "M7"),
        (NO_ACCOUNT, "M9"),
    }
    evidence = {key: finding["evidence"] for key, finding in found.items()}
    base = {"acct_mulaid_pay": "30.00", "psn_type": "1101"}
    assert evidence[(NOT_BOUND, "M2")] == {**base, "bindings": "none"}
    assert evidence[(NOT_BOUND, "M3")] == {
        **base,
        "bindings": "HA child 2023-01-01..2023-04-30 holder psn_type 1101 (not in force)",
    }
    assert evidence[(NOT_BOUND, "M4")] == {
        **base,
        "bindings": "HA other 2023-01-01.. holder psn_type 1101",
    }
    assert evidence[(NO_ACCOUNT, "M5")] == {
        "acct_mulaid_pay": "30.00",
        "psn_type": "1103",
        "bindings": "HA spouse 2023-01-01.. holder psn_type 1101",
        "without": "user",
    }
    assert evidence[(NO_ACCOUNT, "M6")] == {
        **base,
        "bindings": "HF parent 2023-01-01.. holder psn_type 1103",
        "without": "holder HF 1103",
    }
    assert evidence[(NO_ACCOUNT, "M7")] == {
        **base,
        "bindings": "HS spouse 2023-01-01.. holder psn_type 1203",
        "without": "holder HS 1203",
    }
    assert evidence[(NO_ACCOUNT, "M9")] == {
        **base,
        "bindings": "HF spouse 2023-01-01.. holder psn_type 1103 | "
        "HA child 2023-02-01.. holder psn_type 1101 (not in force)",
        "without": "holder HF 1103",
    }
    m2 = found[(NOT_BOUND, "M2")]
    assert (m2["psn_no"], m2["institution"], m2["setl_time"]) == (
        "U2",
        "H1",
        "2023-03-01 09:00:00",
    )
    assert m2["article"] == "鞍医保发〔2022〕14号 第十三条"
    assert "第十二条" in str(found[(NO_ACCOUNT, "M5")]["article"])
    assert m2["reported_hifp_pay"] is None and m2["difference"] is None


def test_mutual_aid_findings_in_every_format(audited: Path, cli: Cli) -> None:
    _code, out, err = cli("audit", "--period", "2023", "--books", "books", expect=3)
    assert "7 findings" in err and "mutual-aid-without-family-binding 3" in err
    assert "M2" in out and "mutual-aid-no-personal-account" in out  # the table
    cli(
        "audit",
        "--period",
        "2023",
        "--format",
        "csv",
        "--out",
        "f.csv",
        "--books",
        "books",
        expect=3,
    )
    lines = (cli.cwd / "f.csv").read_text("utf-8").splitlines()
    m2 = [line for line in lines if ",M2," in line]
    assert len(lines) == 8 and len(m2) == 1
    assert "acct_mulaid_pay=30.00; psn_type=1101; bindings=none" in m2[0]


def test_who_has_no_personal_account_is_the_policy_s(audited: Path, cli: Cli) -> None:
    """A local psn_type added to the policy's no_personal_account: its user is a finding too."""
    from importlib import resources

    text = resources.files("reports.audit").joinpath("policies", "210300.toml").read_text("utf-8")
    changed = text.replace(
        'no_personal_account = ["1103", "1203"]', 'no_personal_account = ["1103", "1203", "1101"]'
    )
    assert changed != text
    (audited / "policy.toml").write_text(changed, "utf-8")
    found = _findings(cli)
    # every 1101 user now lacks an account, and so does the employee holder HA
    assert (NO_ACCOUNT, "M1") in found and (NO_ACCOUNT, "M10") in found
    assert found[(NO_ACCOUNT, "M1")]["evidence"]["without"] == "user and holder HA 1101"  # type: ignore[index]
    assert (NO_ACCOUNT, "M8") in found  # the user; the unknown holder HN is still not judged
    assert found[(NO_ACCOUNT, "M8")]["evidence"]["without"] == "user"  # type: ignore[index]


def test_the_holder_psn_type_on_a_day() -> None:
    binding = Binding(
        "H",
        "spouse",
        D(2023, 1, 1),
        D(2023, 12, 31),
        ((D(2023, 1, 5), "1101"), (D(2023, 6, 1), "1103")),
    )
    assert binding.holder_psn_type(D(2023, 1, 1)) == "1101"  # before the first seen: the first
    assert binding.holder_psn_type(D(2023, 5, 31)) == "1101"
    assert binding.holder_psn_type(D(2023, 6, 1)) == "1103"
    assert Binding("H", "spouse", D(2023, 1, 1), None).holder_psn_type(D(2023, 6, 1)) is None
    assert binding.covers(D(2023, 12, 31)) and not binding.covers(D(2024, 1, 1))


def test_no_personal_account_before_the_first_crediting_rule() -> None:
    policy = shipped_policy("210300")
    assert without_personal_account(policy, D(2022, 12, 15)) == frozenset({"1103", "1203"})
    assert without_personal_account(policy, D(2023, 3, 1)) == frozenset({"1103", "1203"})


def test_the_generated_city_binds_every_mutual_aid_user(tmp_path: Path) -> None:
    """The demo city: each settlement paid by mutual aid has a binding in force that day, to a
    spouse, parent or child who is not a flexible worker."""
    import csv

    paths = write_city(CitySpec(), tmp_path)
    with (tmp_path / FAMILY_BINDINGS_FILE).open(encoding="utf-8") as handle:
        bindings = list(csv.DictReader(handle))
    settlements = [
        row
        for path in paths
        if path.name.startswith("settlements-")
        for row in csv.DictReader(path.open(encoding="utf-8"))
    ]
    # everyone's psn_type: the collection lists every insured person
    with (tmp_path / "contributions-2023-01.csv").open(encoding="utf-8") as handle:
        psn_types = {row["psn_no"]: row["psn_type"] for row in csv.DictReader(handle)}
    assert all(psn_types[row["psn_no"]] == row["psn_type"] for row in settlements)
    used = [row for row in settlements if row["acct_mulaid_pay"] not in ("0.00", "")]
    assert len(used) > 10 and bindings
    for row in used:
        day = row["setl_time"][:10]
        assert psn_types[row["psn_no"]] not in ("1103", "1203")
        assert any(
            b["user_psn_no"] == row["psn_no"]
            and b["relation"] in ("spouse", "parent", "child")
            and b["begndate"] <= day
            and (not b["enddate"] or day <= b["enddate"])
            and psn_types[b["holder_psn_no"]] not in ("1103", "1203")
            for b in bindings
        ), row["setl_id"]
    assert {b["user_psn_no"] for b in bindings} == {row["psn_no"] for row in used}

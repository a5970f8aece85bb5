"""``mzledger synth``: a synthetic city's exports at scale (``mzledger.synth``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mzledger.cli_options import refuse
from mzledger.terminal import GenerationReport, out


def synth_command(
    out_dir: Annotated[
        Path, typer.Argument(help="Directory to write the exports into.", metavar="OUT_DIR")
    ],
    persons: Annotated[int, typer.Option(help="Insured persons.")] = 300,
    settlements: Annotated[
        int,
        typer.Option(
            help="New settlements over all the months, split evenly: each month gets "
            "SETTLEMENTS // (number of months), the first SETTLEMENTS % (number of months) "
            "months one more. Same-visit follow-ups and refunds (about 2 %) come on top."
        ),
    ] = 1600,
    institutions: Annotated[
        int,
        typer.Option(help="Designated institutions in the city (>= 4); two outside it on top."),
    ] = 12,
    months: Annotated[
        str,
        typer.Option(
            help="YYYY-MM months: a range FIRST..LAST (both included) or a comma list in "
            "ascending order."
        ),
    ] = "2022-12..2023-03",
    seed: Annotated[int, typer.Option(help="Seed: the same arguments write the same bytes.")] = (
        20230101
    ),
    mistakes: Annotated[
        bool,
        typer.Option(
            "--mistakes/--no-mistakes",
            help="Plant about a dozen rule violations, listed in planted.json.",
        ),
    ] = True,
) -> None:
    """Generate a synthetic city's exports at scale: settlements-YYYY-MM.csv and
    fee-details-YYYY-MM.csv (one per month), institutions.csv, persons.csv,
    family-bindings.csv, the disbursement accounts' bank statements, bank-accounts.json and
    planted.json. Deterministic; the rows are streamed."""
    from mzledger import synth

    try:
        month_list = synth.parse_months(months)
    except ValueError as exc:
        refuse(f"--months: {exc}")
    if persons < 1 or persons > synth.MAX_PERSONS:
        refuse(f"--persons: from 1 to {synth.MAX_PERSONS:,} (found {persons})")
    if institutions < 4:
        refuse(f"--institutions: at least 4 (found {institutions})")
    if settlements < 0:
        refuse(f"--settlements: at least 0 (found {settlements})")
    spec = synth.CitySpec(
        persons=persons,
        institutions=institutions,
        months=month_list,
        seed=seed,
        plant_mistakes=mistakes,
        settlements=settlements,
    )
    report = GenerationReport()
    try:
        synth.write_city(spec, out_dir, report.written)
    except OSError as exc:
        refuse(f"{exc.filename or out_dir}: cannot write: {exc.strerror or exc}")
    out.print(report.summary(out_dir), markup=False)

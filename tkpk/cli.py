"""The ``tkpk`` command: ``synth``, ``run`` and friends. Paths come from options or the config."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tkpk.config import DEFAULT_HOUSEHOLDS, DEFAULT_REGION, get_settings

app = typer.Typer(
    help="tkpk: poverty statistics pipeline of the Kota Pekalongan poverty task force (TKPK).",
    no_args_is_help=True,
    add_completion=False,
    # a traceback's local variables may hold cells (personal data): never print them
    pretty_exceptions_show_locals=False,
)

RawOption = Annotated[Path | None, typer.Option("--raw", help="Raw extracts folder [data/raw].")]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Output folder for the packs [data/curated].")
]
DbOption = Annotated[
    Path | None, typer.Option("--db", help="Warehouse file [data/warehouse.duckdb].")
]


@app.command()
def synth(
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the raw extracts [data/raw].")
    ] = None,
    households: Annotated[int, typer.Option(help="Number of households.")] = DEFAULT_HOUSEHOLDS,
    months: Annotated[
        str, typer.Option(help="Months covered, YYYY-MM:YYYY-MM (inclusive).")
    ] = "2025-11:2026-10",
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 20260626,
    region: Annotated[
        str, typer.Option(help="Kemendagri region code: 33.75 (city) or 33 (province).")
    ] = DEFAULT_REGION,
    messiness: Annotated[
        float, typer.Option(help="Share of rows given an injected defect (0 = clean).")
    ] = 0.02,
    side: Annotated[
        Path | None, typer.Option("--side", help="Folder for the defect log [data/synth].")
    ] = None,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the raw folder already has files.")
    ] = False,
) -> None:
    """Generate realistic raw extracts (registry snapshots, disbursements, PBI-JK, local lists)."""
    from tkpk.synth import generate

    settings = get_settings()
    target = (out or settings.raw_dir).expanduser().resolve()
    if if_empty and target.exists() and any(p.name != ".gitkeep" for p in target.iterdir()):
        typer.echo(f"{target} already has files: sample not regenerated.")
        return
    summary = generate(
        out_dir=target,
        side_dir=(side or settings.synth_dir).expanduser().resolve(),
        households=households,
        months=months,
        seed=seed,
        region=region,
        messiness=messiness,
    )
    typer.echo(summary)


@app.command()
def run(raw: RawOption = None, out: OutOption = None, db: DbOption = None) -> None:
    """Run the nightly job once: ingest new raw files, validate, compute, publish the packs."""
    from flows.nightly import run_nightly
    from tkpk.publish.pseudonym import PRODUCTION, PseudonymKeyError, load_key

    settings = get_settings().with_paths(raw=raw, out=out, db=db)
    if settings.mode == PRODUCTION:
        try:
            load_key(settings)
        except PseudonymKeyError as error:
            typer.echo(f"tkpk run: {error}", err=True)
            raise typer.Exit(code=2) from error
    ok = run_nightly(settings)
    raise typer.Exit(code=0 if ok else 1)


@app.command()
def pull(
    sources: Annotated[
        Path | None,
        typer.Option("--sources", help="Sources file [TKPK_SOURCES or sources.toml]."),
    ] = None,
    raw: RawOption = None,
    db: DbOption = None,
) -> None:
    """Pull new extracts from the configured sources (shared folders, SFTP, S3, SMB) into the
    raw folder; every pull is recorded in the warehouse (source_pull_log)."""
    from dataclasses import replace

    from flows.nightly import new_run_id
    from tkpk.pull import SourceConfigError, load_sources, pull_all

    settings = get_settings().with_paths(raw=raw, db=db)
    if sources is not None:
        settings = replace(settings, sources_file=sources.expanduser().resolve())
    try:
        configured = load_sources(settings.sources_file)
    except SourceConfigError as error:
        typer.echo(f"tkpk pull: {error}", err=True)
        raise typer.Exit(code=2) from error
    if not configured:
        typer.echo(f"tkpk pull: no source configured ({settings.sources_file} absent or empty)")
        return
    results = pull_all(settings, new_run_id(), configured)
    for result in results:
        if result.ok:
            counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(result.outcomes.items()))
            typer.echo(f"{result.source}: {len(result.landed)} new file(s)"
                       + (f" ({counts})" if counts else ""))
            for name in result.landed:
                typer.echo(f"  {name}")
        else:
            typer.echo(f"{result.source}: failed: {result.cause}", err=True)
    raise typer.Exit(code=0 if all(r.ok for r in results) else 1)


@app.command()
def serve(
    raw: RawOption = None,
    out: OutOption = None,
    db: DbOption = None,
    cron: Annotated[
        str | None,
        typer.Option("--cron", help="Cron schedule [TKPK_SCHEDULE_CRON or '0 2 * * *']."),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone", help="Time zone of the schedule [TKPK_SCHEDULE_TIMEZONE or Asia/Jakarta]."
        ),
    ] = None,
    name: Annotated[str, typer.Option("--name", help="Deployment name.")] = "nightly",
) -> None:
    """Serve the nightly job on the Prefect server (PREFECT_API_URL) with a cron schedule; runs
    the scheduled and manually triggered runs until stopped (Ctrl-C)."""
    from flows.serve import ServeConfigError, plan, serve_nightly

    settings = get_settings().with_paths(raw=raw, out=out, db=db)
    try:
        serve_plan = plan(settings, name=name, cron=cron, timezone=timezone)
        typer.echo(
            f"tkpk serve: deployment {serve_plan.full_name}, schedule '{serve_plan.cron}' "
            f"({serve_plan.timezone}), raw {settings.raw_dir}, out {settings.curated_dir}, "
            f"warehouse {settings.warehouse}"
        )
        serve_nightly(serve_plan, settings)
    except ServeConfigError as error:
        typer.echo(f"tkpk serve: {error}", err=True)
        raise typer.Exit(code=2) from error


@app.command()
def report(
    out: OutOption = None,
    period: Annotated[
        str | None, typer.Option("--period", help="Period YYYY-MM [the latest in the pack].")
    ] = None,
    pack: Annotated[
        str | None,
        typer.Option("--pack", help="restricted or bappeda [restricted when published]."),
    ] = None,
    boundaries: Annotated[
        Path | None,
        typer.Option(
            "--boundaries", help="Kelurahan boundary GeoJSON for a real map [TKPK_BOUNDARIES]."
        ),
    ] = None,
    html: Annotated[
        bool,
        typer.Option(
            "--html", help="Also write the briefing as one self-contained HTML file (offline)."
        ),
    ] = False,
) -> None:
    """Build the rakor briefing pack (one PDF + each chart as PNG, in Bahasa Indonesia; with
    --html also one self-contained HTML file) from the published packs into report/ under the
    output folder."""
    from tkpk.analysis import PackNotFoundError
    from tkpk.report import build_report

    settings = get_settings().with_paths(out=out)
    try:
        folder = build_report(
            settings, period=period, pack=pack, boundaries=boundaries, html=html
        )
    except (PackNotFoundError, ValueError) as error:
        typer.echo(f"tkpk report: {error}", err=True)
        raise typer.Exit(code=2) from error
    _audit_report(settings, folder)
    typer.echo(f"Briefing pack written to {folder}:")
    for path in sorted(folder.iterdir()):
        typer.echo(f"  {path.name}")


def _audit_report(settings, folder: Path) -> None:
    """Personal-data audit of the briefing pack against the warehouse (when there is one here):
    on a finding the pack is removed and the command fails."""
    import shutil

    import duckdb

    from tkpk.publish.privacy import audit_report

    try:
        problems = audit_report(settings, folder)
    except duckdb.Error as error:  # the warehouse is busy (a nightly run) or unreadable
        typer.echo(f"tkpk report: personal-data audit skipped: the warehouse cannot be opened "
                   f"({type(error).__name__}); rerun the report when the nightly run is done")
        return
    if problems:
        shutil.rmtree(folder, ignore_errors=True)
        typer.echo("tkpk report: personal-data audit failed, report removed: "
                   + "; ".join(problems), err=True)
        raise typer.Exit(code=2)


@app.command()
def simulate(
    scenarios: Annotated[
        Path, typer.Option("--scenarios", help="Scenario file (TOML, [[scenario]] tables).")
    ],
    out: OutOption = None,
    db: DbOption = None,
) -> None:
    """Budget what-if: run the file's scenarios on the warehouse as of the last published run;
    write <out>/simulations/<file stem>/ (results Parquet, comparison PNG, one-page PDF)."""
    from tkpk.simulate import ScenarioError, SimulationError, simulate_file

    settings = get_settings().with_paths(out=out, db=db)
    try:
        folder = simulate_file(scenarios, settings)
    except (ScenarioError, SimulationError) as error:
        typer.echo(f"tkpk simulate: {error}", err=True)
        raise typer.Exit(code=2) from error
    typer.echo(f"Simulation written to {folder}:")
    for path in sorted(folder.iterdir()):
        typer.echo(f"  {path.name}")


@app.command("field-list")
def field_list_command(
    kind: Annotated[
        str, typer.Option("--kind", help="unreached_poor, extreme or simulation:<scenario>.")
    ],
    kelurahan: Annotated[str, typer.Option("--kelurahan", help="Kelurahan code (dotted).")],
    purpose: Annotated[
        str | None, typer.Option("--purpose", help="Why the households are visited (logged).")
    ] = None,
    scenarios: Annotated[
        Path | None,
        typer.Option("--scenarios", help="Scenario file, for --kind simulation:<scenario>."),
    ] = None,
    out: OutOption = None,
    db: DbOption = None,
) -> None:
    """Verification sheet (XLSX, one sheet per RW) of one kelurahan's listed households, with
    names and addresses from the warehouse. Production mode and --purpose only; every list is
    written to the access log; the sheet goes to <out>/field_lists/, never into a pack."""
    from tkpk.field_list import FieldListError, field_list

    settings = get_settings().with_paths(out=out, db=db)
    try:
        written = field_list(settings, kind, kelurahan, purpose, scenarios)
    except FieldListError as error:
        typer.echo(f"tkpk field-list: {error}", err=True)
        raise typer.Exit(code=2) from error
    typer.echo(
        f"Field list written to {written.path}: {written.rows} households on "
        f"{written.sheets} sheet(s); access logged in {settings.access_log}"
    )


@app.command()
def explain(
    table: Annotated[
        str, typer.Argument(help="Curated table (kelurahan_poverty, program_reach, ...).")
    ],
    period: Annotated[str, typer.Option("--period", help="Reported period YYYY-MM.")],
    area: Annotated[str, typer.Option("--area", help="Area code (kelurahan, kecamatan, kota).")],
    program: Annotated[
        str | None,
        typer.Option("--program", help="Program (program_reach, program_incidence) or funding "
                     "source (funding_sources) [all]."),
    ] = None,
    column: Annotated[
        str | None, typer.Option("--column", help="Only the units that count in this column.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the units and raw rows (CSV and Parquet)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """What a published figure is made of: the households (pseudonyms) or records behind one
    row of a curated table, what each contributes, and the raw file and row number of each (with
    its flagged fields). Exit 1 when a published value differs from the sum over its units."""
    from tkpk.explain import ExplainError, explain_command
    from tkpk.publish.pseudonym import PseudonymKeyError

    settings = get_settings().with_paths(db=db)
    try:
        text, agrees = explain_command(settings, table, period, area, program, column, out)
    except (ExplainError, PseudonymKeyError) as error:
        typer.echo(f"tkpk explain: {error}", err=True)
        raise typer.Exit(code=2) from error
    typer.echo(text)
    if not agrees:
        raise typer.Exit(code=1)


if __name__ == "__main__":  # pragma: no cover
    app()

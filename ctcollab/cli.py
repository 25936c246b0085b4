"""The `ctcollab` command line (Typer); the one mapping of errors to exit codes."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ctcollab import pipeline
from ctcollab.settings import Settings, load_settings
from schemas import errors

app = typer.Typer(name="ctcollab", help="Counter-trafficking data collaborative.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
org_app = typer.Typer(help="Partner organisations.", no_args_is_help=True)
app.add_typer(org_app, name="org")
mapping_app = typer.Typer(help="Partner mappings (declarative YAML).", no_args_is_help=True)
app.add_typer(mapping_app, name="mapping")

# When piped (scripts, tests), print full-width tables rather than Rich's 80-column default.
out = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 3
T = TypeVar("T")


def exit_code(err: errors.CtcollabError) -> int:
    if isinstance(err, errors.UsageError):
        return EXIT_USAGE
    if isinstance(err, errors.UserError | errors.PrivacyCheckFailed):
        return EXIT_REJECTED
    return EXIT_BUG


def _fail(err: errors.CtcollabError) -> None:
    prefix = "error" if exit_code(err) != EXIT_BUG else "internal error (this is a bug)"
    err_console.print(f"[red]{prefix}[/red]: {err}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(exit_code(err))


def run(fn: Callable[[], T]) -> T:
    """Run a command body; map errors to one line on stderr and an exit code."""
    try:
        return fn()
    except errors.CtcollabError as err:
        _fail(err)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except Exception as err:  # a bug: say so in one line; the traceback only on request
        if os.environ.get("CTCOLLAB_DEBUG"):
            raise
        err_console.print(f"internal error (this is a bug): {type(err).__name__}; "
                          "rerun with CTCOLLAB_DEBUG=1 for details", highlight=False)
        raise typer.Exit(EXIT_BUG) from None
    raise AssertionError("unreachable")


def settings() -> Settings:
    return run(load_settings)


def context() -> pipeline.Context:
    s = settings()
    return run(lambda: pipeline.open_context(s))


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    level = logging.DEBUG if verbose else getattr(logging, settings().log_level)
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    # Progress goes to stdout through the commands; stderr is kept for problems.
    for noisy in ("alembic", "ctcollab"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


@app.command()
def init() -> None:
    """Create the home folder and the database (idempotent)."""
    s = settings()
    run(lambda: pipeline.init(s))
    out.print(f"initialised {s.home} ({s.db_url.split(':')[0]})")


@org_app.command("add")
def org_add(
    slug: str,
    name: Annotated[str, typer.Option(help="Full name of the organisation.")],
    named: Annotated[bool, typer.Option(help="Agreed to be named as a contributor.")] = False,
) -> None:
    """Register an organisation and print its API key (shown once)."""
    ctx = context()
    key = run(lambda: pipeline.add_org(ctx, slug, name, named_contributor=named))
    out.print(f"organisation {slug} registered. API key (store it now, it is not shown again):")
    print(key)


@org_app.command("new-key")
def org_new_key(slug: str) -> None:
    """Issue another API key for an organisation and print it (shown once)."""
    ctx = context()
    key = run(lambda: pipeline.new_key(ctx, slug))
    out.print(f"new API key for {slug} (store it now, it is not shown again):")
    print(key)


@org_app.command("revoke-key")
def org_revoke_key(
    slug: str,
    prefix: Annotated[str, typer.Argument(help="The key, or its first 8-12 characters.")],
) -> None:
    """Revoke an organisation's API key: requests with it get 401 from now on."""
    ctx = context()
    n = run(lambda: pipeline.revoke_key(ctx, slug, prefix))
    out.print(f"revoked {n} key(s) of {slug}")


@org_app.command("keys")
def org_keys(slug: str) -> None:
    """List an organisation's API keys (their prefixes only)."""
    ctx = context()
    keys = run(lambda: pipeline.list_keys(ctx, slug))
    table = Table("prefix", "created", "revoked")
    for k in keys:
        table.add_row(k.prefix, str(k.created_at)[:19],
                      str(k.revoked_at)[:19] if k.revoked_at else "")
    out.print(table)


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(help="The extract: CSV, Excel, JSON or Parquet.")],
    org: Annotated[str, typer.Option(help="Slug of the uploading organisation.")],
    mapping: Annotated[Path | None, typer.Option(help="Mapping YAML for this extract.")] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet to read.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Ingest one partner extract: read, harmonise, store; print the partner's report."""
    from ingest import progress
    from ingest.readers import file_too_large

    ctx = context()
    size = file.stat().st_size if file.is_file() else 0
    limit = ctx.settings.max_upload_bytes

    def refuse_oversized() -> None:
        # before the file is read into memory: a 2 GB export is refused in a millisecond
        if size > limit:
            raise file_too_large(file.name, size, limit)

    run(refuse_oversized)

    def ingest_file() -> pipeline.IngestResult:
        return pipeline.ingest_file(ctx, org, file, mapping=mapping, sheet=sheet)

    if not (err_console.is_terminal and size >= progress.BAR_MIN_BYTES):
        result = run(ingest_file)
    else:
        # a bar on stderr while a big file is read, a spinner while it is harmonised and
        # stored; transient, so that what stays on screen is the report (or the error)
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TaskID,
            TextColumn,
            TimeElapsedColumn,
        )

        megabytes = f"{size / 1e6:,.1f} MB"
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                      console=err_console, transient=True) as bar:
            reading = bar.add_task(f"reading {file.name}", total=size, detail=f"0/{megabytes}")
            storing: list[TaskID] = []

            def advance(done: int, total: int) -> None:
                part = done * size // max(total, 1)
                bar.update(reading, completed=part,
                           detail=f"{part / 1e6:,.1f}/{megabytes}")
                if done >= total and not storing:
                    bar.update(reading, visible=False)
                    storing.append(bar.add_task("harmonising and storing", total=None,
                                                detail=""))

            with progress.reporting(advance):
                result = run(ingest_file)
    if as_json:
        print(json.dumps({"upload_id": result.upload_id, "duplicate": result.duplicate,
                          **result.report}, indent=2, ensure_ascii=False))
        return
    print_report(result.upload_id, result.duplicate, result.report)


def print_report(upload_id: int, duplicate: bool, report: dict[str, Any]) -> None:
    if duplicate:
        out.print(f"upload {upload_id}: the same file was already ingested; nothing changed")
        return
    what = f"upload {upload_id}" if upload_id else "check"
    out.print(f"{what} ({report.get('mapping_version')}): "
              f"{report['rows_read']} rows read, {report['rows_accepted']} accepted, "
              f"{report['rows_quarantined']} quarantined")
    for reason, n in report.get("quarantined_by_reason", {}).items():
        out.print(f"  quarantined {n:>5}  {reason}")
    if report.get("repeat_records"):
        out.print(f"  {report['repeat_records']} records are the same person as another record "
                  "of this organisation (each person counts once)")
    for note in report.get("notes", []):
        out.print(f"  note: {note}", highlight=False)
    if report.get("columns_dropped"):
        out.print("  columns dropped (not in the mapping): "
                  + ", ".join(report["columns_dropped"]), highlight=False)
    table = Table("field", "mapped %", "unknown %", "not supplied %", "unmapped values")
    for name, cov in report.get("fields", {}).items():
        unmapped = ", ".join(f"{v} ({n})" for v, n in list(cov["unmapped_values"].items())[:5])
        table.add_row(name, f"{cov['mapped_pct']:.1f}", f"{cov['unknown_pct']:.1f}",
                      f"{cov['not_supplied_pct']:.1f}", unmapped)
    out.print(table)


@mapping_app.command("suggest")
def mapping_suggest(
    file: Annotated[Path, typer.Argument(help="An extract the collaborative has not seen.")],
    sheet: Annotated[str | None, typer.Option(help="Excel sheet to read.")] = None,
) -> None:
    """Print a draft mapping YAML for FILE, with a confidence per column and TODOs."""
    print(run(lambda: pipeline.suggest_mapping(file, sheet=sheet)), end="")


@mapping_app.command("check")
def mapping_check(
    mapping: Annotated[Path, typer.Argument(help="The mapping YAML.")],
    file: Annotated[Path, typer.Argument(help="An extract to try it on.")],
) -> None:
    """Show the coverage MAPPING would give on FILE; nothing is stored."""
    report = run(lambda: pipeline.check_mapping(mapping, file))
    print_report(0, False, report)


@app.command()
def release(
    spec: Annotated[Path | None, typer.Option(help="Release spec YAML.")] = None,
    version: Annotated[str | None, typer.Option(help="Version (default: today's date).")] = None,
    seed: Annotated[str | None, typer.Option(
        help="Secret seed (32+ hex digits) making the release reproducible: the same seed, "
             "snapshot and spec publish the same data files. Whoever holds it can remove the "
             "noise: keep it like a key. Prefer --seed-file (the command line is visible to "
             "other users and kept in shell history).")] = None,
    seed_file: Annotated[Path | None, typer.Option(
        help="Read the secret seed from this file instead.")] = None,
    revise: Annotated[list[int] | None, typer.Option(
        help="Measure this closed cohort again (late cases): an explicit spend from its "
             "remaining budget, published as a revision. Repeatable.")] = None,
) -> None:
    """Publish a new release: every cohort measured or carried, within its lifetime cap."""
    ctx = context()
    if seed is not None and seed_file is not None:
        run(lambda: _raise(errors.UsageError("give --seed or --seed-file, not both")))
    if seed_file is not None:
        seed = run(lambda: _read_seed(seed_file))
    result = run(lambda: pipeline.release(ctx, spec_path=spec, version=version, seed=seed,
                                          revise=frozenset(revise or ())))
    measured = sorted(result.spent)
    cohorts = (f"cohorts {measured[0]}-{measured[-1]}" if len(measured) > 1
               else f"cohort {measured[0]}" if measured else "no cohort")
    # pac-synth is (epsilon, delta)-DP only: its spend is not in rho, so state it beside.
    approx = max((b.approx_epsilon for b in result.spent.values()), default=Fraction(0))
    also = (f" and epsilon {float(approx):.4g} of (epsilon, delta)-DP products" if approx
            else "")
    out.print(f"release {result.version} written to {result.path} "
              f"(spent on {cohorts}: at most rho {float(result.rho_spent):.4g}{also} per "
              f"person; noise: {result.noise})", highlight=False)


def _raise(err: errors.CtcollabError) -> None:
    raise err


def _read_seed(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise errors.UsageError(f"{path.name}: cannot be read") from err


budget_app = typer.Typer(help="The privacy budget: lifetime cap per cohort, and the ledger.",
                         invoke_without_command=True)
app.add_typer(budget_app, name="budget")


@budget_app.callback()
def budget(ctx: typer.Context) -> None:
    """Show every spend, and each cohort's lifetime spend against the cap."""
    if ctx.invoked_subcommand is not None:
        return
    from privacy import ledger

    c = context()
    with c.engine.connect() as conn:
        cap = run(lambda: ledger.current_cap(conn))
        rows = run(lambda: ledger.entries(conn))
        totals = run(lambda: ledger.totals(conn))
    table = Table("release", "cohort", "product", "item", "rho", "epsilon", "delta",
                  "accounting")
    for r in rows:
        table.add_row(escape(r.version), str(r.cohort), escape(r.product), escape(r.item),
                      escape(r.rho or ""),
                      f"{r.epsilon:.4g}" if r.epsilon is not None else "",
                      f"{r.delta:.1e}" if r.delta is not None else "",
                      ("zCDP" if r.rho is not None else "(epsilon, delta)")
                      + (", revision" if r.revision else ""))
    out.print(table)
    summary = Table("cohort", "rho spent", "epsilon at the delta cap", "remaining rho",
                    "remaining epsilon")
    for cohort, t in sorted(totals.items()):
        composed = t.epsilon(cap.delta)
        summary.add_row(str(cohort), f"{float(t.rho):.4g}", f"{composed:.4g}",
                        f"{float(max(cap.rho - t.rho, Fraction(0))):.4g}",
                        f"{max(cap.epsilon - composed, 0.0):.4g}")
    out.print(summary)
    out.print(f"lifetime cap per cohort: rho = {float(cap.rho):.4g} (zCDP), and composed "
              f"epsilon = {cap.epsilon:.4g} at delta = {cap.delta:.1e}", highlight=False)


@budget_app.command("cap")
def budget_cap(
    rho: Annotated[float, typer.Option(help="Lifetime zCDP rho per cohort.")],
    reason: Annotated[str, typer.Option(help="Why (recorded and published in the ledger).")],
    delta: Annotated[float, typer.Option(help="Lifetime delta per cohort.")] = 1e-6,
    epsilon: Annotated[float | None, typer.Option(
        help="Lifetime epsilon per cohort (default: rho converted at delta).")] = None,
) -> None:
    """Record a new lifetime cap per cohort. Every change is kept and published."""
    c = context()
    cap = run(lambda: pipeline.set_cap(c, rho, delta, epsilon, reason))
    out.print(f"lifetime cap per cohort is now rho = {float(cap.rho):.4g}, epsilon = "
              f"{cap.epsilon:.4g} at delta = {cap.delta:.1e}", highlight=False)


cohort_app = typer.Typer(help="Cohorts: the persons first registered in one year.")
app.add_typer(cohort_app, name="cohort")


@cohort_app.command("list")
def cohort_list() -> None:
    """Each cohort: open or closed, lifetime spend and what remains of the cap."""
    from privacy import cohorts, ledger
    from privacy.spec import load_spec

    c = context()
    year_min = load_spec(None).year_min
    with c.engine.connect() as conn:
        cap = ledger.current_cap(conn)
        totals = ledger.totals(conn)
        status = cohorts.statuses(conn, cohorts.public_domain(year_min))
    table = Table("cohort", "status", "closed at", "rho spent", "remaining rho",
                  "remaining epsilon")
    for year, st in status.items():
        t = totals.get(year, ledger.Budget())
        table.add_row(str(year), "closed" if st.closed else "open",
                      st.closed_at.isoformat(timespec="seconds") if st.closed_at else "",
                      f"{float(t.rho):.4g}", f"{float(max(cap.rho - t.rho, Fraction(0))):.4g}",
                      f"{max(cap.epsilon - t.epsilon(cap.delta), 0.0):.4g}")
    out.print(table)


@cohort_app.command("close")
def cohort_close(
    year: Annotated[int, typer.Argument(help="The cohort (year of first registration).")],
    reason: Annotated[str, typer.Option(help="Why, for the record.")] = "",
) -> None:
    """Close a cohort: its published files become final and are carried unchanged, free."""
    c = context()
    frozen = run(lambda: pipeline.close_cohort(c, year, reason))
    out.print(f"cohort {year} closed: {frozen} published file(s) frozen; the next release "
              "measures once what it has never published for it, then carries everything",
              highlight=False)


@app.command()
def export(
    org: Annotated[str, typer.Option(help="Organisation slug.")],
    out_file: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
) -> None:
    """Secure zone only: one organisation's harmonised cases in CTDC-compatible form."""
    ctx = context()
    frame = run(lambda: pipeline.export_cases(ctx, org))
    frame.to_csv(out_file, index=False, encoding="utf-8")
    out.print(f"{len(frame)} cases written to {out_file}")


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    access_log: Annotated[bool, typer.Option(help="Log each request (method, path, status).")
                          ] = True,
    proxy_headers: Annotated[bool, typer.Option(
        help="Trust X-Forwarded-For from 127.0.0.1 (behind a local reverse proxy).")] = False,
) -> None:
    """Serve the public API and site, and the partner upload API (with its worker)."""
    import uvicorn

    from api.app import create_app
    from ctcollab.serving import api_config

    ctx = context()
    s = ctx.settings
    config = api_config(s, ctx.engine)
    run(s.case_key_secret)  # refuse to start without a usable secret (production)
    uvicorn.run(create_app(config), host=host, port=port, log_level="info",
                loop="uvloop", http="httptools", access_log=access_log,
                proxy_headers=proxy_headers, forwarded_allow_ips="127.0.0.1")


@app.command("demo-data")
def demo_data(
    outdir: Path,
    records: Annotated[int, typer.Option(min=1)] = 2000,
    seed: Annotated[int, typer.Option()] = 7,
) -> None:
    """Write realistic extracts of four fictional partner organisations to OUTDIR."""
    from ctcollab.demodata import generate

    extracts = run(lambda: generate(outdir, records=records, seed=seed))
    for e in extracts:
        out.print(f"{e.org_slug:<16} {e.path}")


@app.command()
def demo(
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Stop after the release.")] = False,
    port: Annotated[int, typer.Option()] = 8000,
    records: Annotated[int, typer.Option(min=1)] = 2000,
) -> None:
    """Generate demo extracts, ingest them, publish a release, then serve it."""
    from ctcollab.demo import run_demo

    s = settings()
    release_result = run(lambda: run_demo(s, records=records, echo=out.print))
    out.print(f"[bold]release {release_result.version}[/bold] in {release_result.path}")
    if not no_serve:
        out.print(f"serving on http://127.0.0.1:{port}/ (Ctrl-C to stop)")
        serve(host="127.0.0.1", port=port)


def main() -> None:
    app()

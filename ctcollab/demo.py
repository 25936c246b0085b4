"""The demo: fictional partners' extracts, ingested and released on the embedded default."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa

from ctcollab import pipeline
from ctcollab.settings import Settings
from privacy.spec import load_spec
from schemas.tables import organisations, releases


def run_demo(settings: Settings, *, records: int = 2000, seed: int = 7,
             echo: Callable[[str], None] = print) -> pipeline.ReleaseResult:
    """Idempotent: a second run re-uses organisations, files and an unchanged release."""
    from ctcollab.demodata import DEMO_ORGS, generate

    ctx = pipeline.init(settings)
    outdir = settings.home / "demo-data"
    extracts = generate(outdir, records=records, seed=seed)
    echo(f"demo extracts written to {outdir}")
    with ctx.engine.connect() as conn:
        known = {r.slug for r in conn.execute(sa.select(organisations.c.slug))}
    for org in DEMO_ORGS:
        if org.slug not in known:
            pipeline.add_org(ctx, org.slug, org.name, named_contributor=True)
            echo(f"registered {org.name}")
    for e in extracts:
        result = pipeline.ingest_file(ctx, e.org_slug, e.path, mapping=e.mapping, sheet=e.sheet)
        r = result.report
        echo(f"ingested {e.path.name}: {r.get('rows_read')} rows, {r.get('rows_accepted')} "
             f"accepted, {r.get('rows_quarantined')} quarantined"
             + (" (already ingested)" if result.duplicate else ""))
    with ctx.engine.connect() as conn:
        last = conn.execute(sa.select(releases.c.version).order_by(releases.c.id.desc())
                            ).first()
    if last is not None:
        # Releases spend every open cohort's lifetime budget: a demo run again spends none.
        echo(f"the demo has released already (latest: {last.version}); not releasing again")
        return pipeline.ReleaseResult(last.version, settings.releases_dir / last.version, {})
    first = pipeline.release(ctx)
    echo(f"release {first.version} published (every cohort open: provisional figures)")
    # Show the v2 life cycle: past cohorts are closed (their figures become final) and the
    # next release carries them byte for byte, spending only on the cohorts still open.
    today = datetime.now(UTC).year
    for year in range(load_spec(None).year_min, today - 1):
        pipeline.close_cohort(ctx, year, reason="demo: registrations of that year are complete")
    echo(f"closed the cohorts before {today - 1}")
    return pipeline.release(ctx)

"""The demo: fictional partners' extracts, ingested and released on the embedded default."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import sqlalchemy as sa

from ctcollab import pipeline
from ctcollab.settings import Settings
from privacy.snapshot import snapshot_hash
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
        snap, _ = snapshot_hash(conn)
        last = conn.execute(sa.select(releases.c.version).where(releases.c.snapshot_hash == snap)
                            .order_by(releases.c.id.desc())).first()
    if last is not None:
        echo(f"the data has not changed since release {last.version}; not releasing again")
        return pipeline.ReleaseResult(last.version, settings.releases_dir / last.version, 0,
                                      Fraction(0))
    return pipeline.release(ctx)

"""`ctcollab ingest` with no mapping on a filled HTCDS template: eligible, consenting cases only."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import sqlalchemy as sa

from ctcollab import pipeline
from schemas.tables import cases as cases_table
from schemas.tables import uploads
from tests.harmonize.htcds.conftest import htcds_files  # noqa: F401
from tests.harmonize.htcds.support import PLAIN_TEMPLATE, fill_template, generate


@pytest.mark.usefixtures("htcds_files")
def test_htcds_template_needs_no_mapping(ctx: pipeline.Context, tmp_path: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    generated = generate(30)
    path = fill_template(PLAIN_TEMPLATE, generated, tmp_path / "htcds.xlsx", labels=False,
                         text_dates=False)
    pipeline.add_org(ctx, "front-line", "Front-line NGO")
    caplog.set_level("DEBUG")
    result = pipeline.ingest_file(ctx, "front-line", path, mapping=None)
    eligible = [c for c in generated if getattr(c, "eligible", False)]
    assert result.report["rows_accepted"] == len(eligible) > 0
    assert result.report["mapping_version"].startswith("htcds")
    excluded = result.report["excluded_by_reason"]
    assert sum(excluded.values()) == len(generated) - len(eligible)
    with ctx.engine.connect() as conn:
        stored = conn.execute(sa.select(cases_table)).all()
        upload_rows = conn.execute(sa.select(uploads)).all()
    assert len(stored) == len(eligible)
    dump = repr(stored) + repr(upload_rows) + caplog.text + repr(result.report)
    for case in generated:
        for value in (case.first_name + " " + case.second_name, case.email, case.mobile_phone,
                      case.street):
            if value and len(value) > 4:
                assert value not in dump, dataclasses.asdict(case).keys()

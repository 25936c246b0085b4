"""Release folders: valid Frictionless data packages, checksummed, never overwritten."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from frictionless import Package

from ctcollab import pipeline
from publish.release import list_versions, next_version, version_key
from schemas.errors import Conflict


@pytest.fixture
def released(ctx: pipeline.Context, french_file: tuple[Path, Path]) -> Path:
    data, mapping = french_file
    pipeline.add_org(ctx, "ong-test", "ONG Test")
    pipeline.ingest_file(ctx, "ong-test", data, mapping=mapping)
    return pipeline.release(ctx, version="2026.02.03").path


def test_datapackage_is_valid_frictionless_v2(released: Path) -> None:
    report = Package(str(released / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]


def test_every_resource_states_its_privacy_protection(released: Path) -> None:
    dp = json.loads((released / "datapackage.json").read_text())
    assert dp["version"] == "2026.02.03"
    assert dp["licenses"][0]["name"] == "CC-BY-4.0"
    for res in dp["resources"]:
        privacy = res["privacy"]
        assert privacy["method"] in ("dp-table", "dp-synthetic", "k-anonymity")
        if privacy["method"] != "k-anonymity":
            assert privacy["rho"] > 0 and privacy["epsilon"] > 0
            assert 0 < privacy["delta"] <= 1e-6
        if privacy["method"] == "dp-synthetic":
            assert privacy["synthetic"] is True and "SYNTHETIC" in res["title"]
        frame = pd.read_csv(released / res["path"], keep_default_na=False, dtype=str)
        assert [f["name"] for f in res["schema"]["fields"]] == list(frame.columns)
        digest = hashlib.sha256((released / res["path"]).read_bytes()).hexdigest()
        assert res["hash"] == f"sha256:{digest}"
        assert (released / res["path"]).with_suffix(".parquet").exists()


def test_sha256sums_cover_every_file(released: Path) -> None:
    listed = {}
    for line in (released / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    files = {p.relative_to(released).as_posix() for p in released.rglob("*") if p.is_file()}
    assert set(listed) == files - {"SHA256SUMS"}
    for name, digest in listed.items():
        assert hashlib.sha256((released / name).read_bytes()).hexdigest() == digest


def test_codebook_lists_every_variable(released: Path) -> None:
    from schemas.definition import SCHEMA

    html = (released / "codebook.html").read_text()
    for f in SCHEMA.ctdc_fields:
        assert f'id="{f.ctdc}"' in html


def test_a_release_is_never_overwritten(ctx: pipeline.Context, released: Path) -> None:
    before = (released / "SHA256SUMS").read_bytes()
    with pytest.raises(Conflict):
        pipeline.release(ctx, version="2026.02.03")
    assert (released / "SHA256SUMS").read_bytes() == before


def test_versions_are_dated_with_a_suffix_for_the_same_day(tmp_path: Path) -> None:
    day = date(2026, 11, 24)
    assert next_version(tmp_path, day, set()) == "2026.11.24"
    assert next_version(tmp_path, day, {"2026.11.24"}) == "2026.11.24-2"
    assert next_version(tmp_path, day, {"2026.11.24", "2026.11.24-2"}) == "2026.11.24-3"
    ordered = sorted(["2026.11.24-10", "2026.11.24", "2026.11.24-2"], key=version_key)
    assert ordered == ["2026.11.24", "2026.11.24-2", "2026.11.24-10"]
    assert list_versions(tmp_path / "missing") == []

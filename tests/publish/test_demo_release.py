"""The demo end to end: every published product is protected, valid and leaks no identifier."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from frictionless import Package
from pycanon import anonymity

from ctcollab.demo import run_demo
from ctcollab.settings import load_settings


@pytest.fixture(scope="module")
def demo_release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    home = tmp_path_factory.mktemp("demo-home")
    result = run_demo(load_settings(home=home), records=1500, echo=lambda _m: None)
    return home, result.path


def test_demo_release_is_a_valid_data_package(demo_release: tuple[Path, Path]) -> None:
    _, release = demo_release
    report = Package(str(release / "datapackage.json")).validate()
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "type"])[:5]
    methods = {r["privacy"]["method"] for r in
               json.loads((release / "datapackage.json").read_text())["resources"]}
    assert methods >= {"dp-table", "k-anonymity"}


def test_kanon_microdata_is_11_anonymous(demo_release: tuple[Path, Path]) -> None:
    _, release = demo_release
    dp = json.loads((release / "datapackage.json").read_text())
    res = next(r for r in dp["resources"] if r["privacy"]["method"] == "k-anonymity")
    qis = res["privacy"]["quasi_identifiers"]
    frame = pd.read_csv(release / res["path"], dtype=str, keep_default_na=False)
    assert frame.groupby(qis).size().min() >= 11  # independent of pycanon
    assert anonymity.k_anonymity(frame, qis) >= 11


def test_no_identifier_from_the_extracts_reaches_the_release(
        demo_release: tuple[Path, Path]) -> None:
    home, release = demo_release
    french = next((home / "demo-data").glob("espoir-sahel*.csv"))
    extract = pd.read_csv(french, sep=";", encoding="cp1252", dtype=str, keep_default_na=False)
    planted = set(extract["Nom"]) | set(extract["Téléphone"]) | set(extract["N° dossier"])
    planted.discard("")
    published = "\n".join(p.read_text("utf-8", "replace") for p in release.rglob("*")
                          if p.is_file() and p.suffix in (".csv", ".json", ".md", ".html",
                                                          ".cff", ".jsonld"))
    leaked = [v for v in planted if v in published]
    assert not leaked

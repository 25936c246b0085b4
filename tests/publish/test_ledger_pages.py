"""The public privacy ledger as a release states it: datapackage.json, methodology, codebook,
and the site's ledger page (English and French, with its chart), every figure traced."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from publish import ledger as public_ledger
from publish.meta import ReleaseMeta
from publish.release import build_release_folder
from publish.resources import Resource
from schemas.errors import InternalError
from schemas.table_schema import aggregate_table_schema
from tests.publish.ledger_fixture import THIS_VERSION, ledger
from tests.publish.site_support import Page, check_source, parse, untraced_numbers

KEY = "ctcollab.privacy_ledger"
SITE_PAGES = ("ledger.html", "fr/ledger.html")


def _table() -> Resource:
    """A small DP table, so that the site has its usual pages beside the ledger."""
    rows = [{"gender": g, "age_broad": a, "count": str(10 + 3 * i), "lower_95": str(4 + 3 * i),
             "upper_95": str(16 + 3 * i), "flag": ""}
            for i, (g, a) in enumerate(itertools.product(("female", "male"),
                                                         ("18-20", "21-23")))]
    return Resource(
        name="victims_by_gender_age", title="Identified victims by gender and age band",
        description="Differentially private counts.", method="dp-table",
        frame=pd.DataFrame(rows), schema=aggregate_table_schema(("gender", "age_broad")),
        privacy={"method": "dp-table", "rho": 0.125, "epsilon": 2.1, "delta": 1e-9,
                 "dimensions": ["gender", "age_broad"]})


def _build(folder: Path, privacy_ledger: dict[str, Any]) -> Path:
    meta = ReleaseMeta(version=THIS_VERSION, title="Ledger test release",
                       created=datetime(2026, 4, 2, 10, tzinfo=UTC),
                       release_id="0123456789abcdef0123456789abcdef", licence="CC-BY-4.0",
                       contributors=("ONG Espoir",), spec={}, privacy_ledger=privacy_ledger,
                       extra={"noise": {"source": "opendp-csprng", "note": "OpenDP."}})
    build_release_folder(folder, meta, [_table()])
    return folder


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("ledger") / THIS_VERSION, ledger())


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("no-ledger") / THIS_VERSION, {})


def _leaves(value: Any, key: str) -> list[tuple[str, Any]]:
    """Every scalar of ``value`` with its dotted key (lists by index)."""
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in _leaves(v, f"{key}.{k}")]
    if isinstance(value, list) and value and isinstance(value[0], dict | list):
        return [x for i, v in enumerate(value) for x in _leaves(v, f"{key}.{i}")]
    return [(key, value)]


def _figures(value: Any) -> list[tuple[str, Any]]:
    """The ledger's figures: numbers (not booleans) and lists of cohorts."""
    return [(k, v) for k, v in _leaves(value, KEY)
            if (isinstance(v, int | float) and not isinstance(v, bool)) or isinstance(v, list)]


def test_datapackage_states_the_ledger_and_nothing_derived_from_the_data(release: Path) -> None:
    dp = json.loads((release / "datapackage.json").read_text())
    c = dp["ctcollab"]
    assert c["privacy_ledger"] == ledger()
    assert re.fullmatch(r"[0-9a-f]{32}", c["release_id"])
    assert not {"snapshot_sha256", "mapping_versions", "case_count"} & set(c)


def test_a_ledger_off_the_documented_shape_is_refused(tmp_path: Path) -> None:
    wrong = ledger()
    wrong["cohorts"][0]["size"] = 1234  # an undocumented key: and a cohort size at that
    with pytest.raises(InternalError):
        _build(tmp_path / "x", wrong)
    missing = ledger()
    del missing["release"]["total"]
    with pytest.raises(InternalError):
        public_ledger.public(missing)
    assert public_ledger.public({}) == {}


@pytest.mark.parametrize("name", SITE_PAGES)
def test_every_figure_of_the_ledger_page_traces_to_datapackage_json(release: Path,
                                                                    name: str) -> None:
    page = parse(release / "site" / name)
    traced = set()
    for e in page.by_attr("data-src"):
        problem = check_source(release, page, e)
        assert problem is None, (name, problem)
        traced.add(e.attrs.get("data-key"))
    assert untraced_numbers(page) == [], name
    # And the page shows every figure of the ledger.
    missing = [k for k, _v in _figures(ledger()) if k not in traced]
    assert missing == [], missing


def _text(page: Page) -> str:
    return re.sub(r"\s+", " ", "".join(t for t, _ in page.texts))


def test_the_page_says_plainly_where_k_anonymity_is_the_weakest_protection(
        release: Path) -> None:
    for name, words in (("ledger.html", "k-anonymity, not differential privacy, is then this "
                                        "cohort's weakest protection"),
                        ("fr/ledger.html", "Le k-anonymat, et non la confidentialité "
                                           "différentielle, est alors la protection la plus "
                                           "faible de cette cohorte")):
        page = parse(release / "site" / name)
        items = [e for e in page.elements if e.tag == "li"
                 and "kanon-weakest" in e.attrs.get("class", "")]
        assert [page.text_of(e).split()[1].rstrip("\u00a0:") for e in items] == ["2019"], name
        assert words in page.text_of(items[0]), name
    text = _text(parse(release / "site" / "ledger.html"))
    assert "Cohort 2020" not in text and "Cohort 2021" not in text


def test_the_chart_has_each_cohorts_spent_and_remaining_budget(release: Path) -> None:
    page = parse(release / "site" / "ledger.html")
    cohorts = ledger()["cohorts"]
    groups = [e for e in page.elements if e.tag == "g" and e.attrs.get("class") == "budget"]
    assert len(groups) == len(cohorts)
    spent = [e for e in page.elements if e.tag == "rect" and e.attrs.get("class") == "spent"]
    left = [e for e in page.elements if e.tag == "rect" and e.attrs.get("class") == "remaining"]
    cap = ledger()["cap"]["rho"]
    for c, s, r in zip(cohorts, spent, left, strict=True):
        s_w, r_w = float(s.attrs["width"]), float(r.attrs["width"])
        assert s_w / (s_w + r_w) == pytest.approx(c["spent"]["rho"] / cap, abs=0.01)
        assert float(r.attrs["x"]) == pytest.approx(float(s.attrs["x"]) + s_w, abs=0.1)
    ticks = [page.text_of(e) for e in page.elements if e.tag == "text"
             and e.attrs.get("class") == "tick"]
    assert ticks[0] == "0" and ticks[-1] == "2"
    # Offline: the chart is inline SVG, no script and no request.
    raw = (release / "site" / "ledger.html").read_text()
    assert "<script" not in raw and "https://" not in raw


def test_french_page_is_in_french(release: Path) -> None:
    page = parse(release / "site" / "fr" / "ledger.html")
    assert page.html_lang == "fr"
    text = _text(page)
    assert "Registre de confidentialité" in text and "close" in text and "ouverte" in text
    assert "0,75" in text and "0.75" not in text  # French decimal commas
    nav = [page.text_of(e) for e in page.elements if e.tag == "a"
           and e.attrs.get("href", "").endswith("ledger.html") and "hreflang" not in e.attrs]
    assert "Registre de confidentialité" in nav


def test_methodology_shows_the_ledger(release: Path) -> None:
    fixture = ledger()
    for name in ("methodology.html", "methodology.md"):
        text = re.sub(r"<[^>]+>", " ", (release / name).read_text())
        text = re.sub(r"\s+", " ", text)
        assert "privacy ledger" in text.lower(), name
        assert "Cohort 2019: k-anonymity is its weakest protection." in text, name
        assert "Cohort 2020: k-anonymity" not in text and "Cohort 2021: k-anonymity" not in text
        for p in fixture["release"]["products"]:
            assert p["item"] in text and f"{p['rho']:.6g}" in text, (name, p["item"])
        assert f"{fixture['release']['total']['rho']:.6g}" in text
        for c in fixture["cohorts"]:
            for part in ("spent", "remaining"):
                for unit in ("rho", "epsilon"):
                    assert f"{c[part][unit]:.6g}" in text, (name, c["cohort"], part, unit)
        for r in fixture["releases"]:
            assert r["version"] in text, name
        assert f"{fixture['cap']['delta']:.6g}" in text


def _documented_form(key: str) -> str:
    """ctcollab.privacy_ledger.cohorts.0.spent.rho -> cohorts[].spent.rho"""
    return re.sub(r"\.\d+(?=\.|$)", "[]", key.removeprefix(KEY + ".")).replace("[].", "[].")


def test_the_codebook_documents_every_key_of_the_ledger(release: Path, bare: Path) -> None:
    keys = {_documented_form(k) for k, _ in _leaves(ledger(), KEY)}
    documented = dict(public_ledger.documented_keys())
    assert keys <= set(documented), keys - set(documented)
    assert all(documented.values())
    for folder in (release, bare):
        html = (folder / "codebook.html").read_text()
        md = (folder / "codebook.md").read_text()
        assert 'id="privacy-ledger"' in html
        for key in documented:
            assert f"<code>{key}</code>" in html and f"`{key}`" in md, key


def test_without_a_ledger_every_page_still_renders_and_says_so(bare: Path) -> None:
    dp = json.loads((bare / "datapackage.json").read_text())
    assert dp["ctcollab"]["privacy_ledger"] == {}
    en = parse(bare / "site" / "ledger.html")
    fr = parse(bare / "site" / "fr" / "ledger.html")
    assert "No privacy ledger was recorded for this release." in _text(en)
    assert "Aucun registre de confidentialité n’a été enregistré" in _text(fr)
    for page in (en, fr):
        assert untraced_numbers(page) == []
    for name in ("methodology.html", "methodology.md"):
        assert "No privacy ledger was recorded for this release." in (bare / name).read_text()

"""The site in Debian's Chromium (Playwright): pages, a chart, a download, the partner portal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import FilePayload, Page, expect

from api.app import create_app
from ctcollab.database import make_engine, upgrade
from ctcollab.settings import Settings
from schemas.definition import SCHEMA
from tests.api.support import (
    FRENCH,
    Partner,
    add_partner,
    case_count,
    context,
    live_server,
    partner_config,
)
from tests.ctcollab.conftest import FRENCH_ROWS, french_csv

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(released_settings: Settings, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[str, Partner, Any]]:
    tmp = tmp_path_factory.mktemp("browser")
    engine = make_engine(f"sqlite:///{tmp / 'db.sqlite'}")
    upgrade(engine)
    partner = add_partner(context(engine, tmp / "home"), "ong-a")
    config = partner_config(engine, tmp, releases_dir=released_settings.releases_dir)
    with live_server(create_app(config)) as base:
        yield base, partner, engine
    engine.dispose()


def test_home_country_page_and_chart(site: tuple[str, Partner, Any],
                                     shot_on_failure: Page) -> None:
    base, _, _ = site
    page = shot_on_failure
    page.goto(base + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Counter-trafficking data collaborative")
    expect(page.get_by_role("heading", name="Release 2026.03.02 (this release)")).to_be_visible()
    page.get_by_role("link", name="Libya", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"/countries/LBY\.html$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Libya")
    chart = page.locator("figure.chart svg").first
    expect(chart).to_be_visible()
    assert page.locator("figure.chart").first.locator("g.bar rect").count() > 0
    page.get_by_role("link", name="Français").click()
    expect(page).to_have_url(re.compile(r"/fr/countries/LBY\.html$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Libye")
    expect(page.locator("html")).to_have_attribute("lang", "fr")

    page.get_by_role("navigation", name="Principale").get_by_role("link", name="Explorer").click()
    page.get_by_role("link", name="Victimes identifiées par genre et tranche d’âge").click()
    expect(page).to_have_url(re.compile(r"/fr/explore/victims_by_gender_age\.html$"))
    figure = page.locator("#chart")
    expect(figure.locator("figcaption")).to_contain_text("Victimes identifiées par genre et")
    svg = figure.locator("svg")
    expect(svg).to_be_visible()
    bands = len(SCHEMA.vocabularies["age_band"].codes)
    assert svg.locator("g.bar").count() == bands + 1  # each band, and "not supplied"
    assert svg.locator("line.whisker").count() == 3 * svg.locator("rect").count()
    table = page.locator("table#all")
    expect(table).to_contain_text("Intervalle à 95 %")
    # The optional filter (the page's script): rows of one gender only.
    rows = table.locator("tbody tr")
    total = rows.count()
    page.get_by_label("Filtrer les lignes").fill("Homme")
    visible = table.locator("tbody tr:visible")
    assert 0 < visible.count() < total
    for text in visible.all_inner_texts():
        assert "Homme" in text


def test_the_site_works_offline_from_the_release_folder(
        released_settings: Settings, shot_on_failure: Page) -> None:
    """Opened from the disk, every page, style and chart loads with no other request."""
    page = shot_on_failure
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    folder = released_settings.releases_dir / "2026.03.02" / "site"
    page.goto((folder / "index.html").as_uri())
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Counter-trafficking data collaborative")
    # The stylesheet applied: the skip link is moved off screen.
    assert page.get_by_text("Skip to content").bounding_box()["x"] < 0  # type: ignore[index]
    page.get_by_role("link", name="Libya", exact=True).first.click()
    expect(page.locator("figure.chart svg").first).to_be_visible()
    page.get_by_role("link", name="Français").click()
    page.get_by_role("link", name="Jeux de données").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Jeux de données")
    assert requests and all(u.startswith("file://") for u in requests), \
        [u for u in requests if not u.startswith("file://")]


def test_the_privacy_ledger_page_and_its_chart(site: tuple[str, Partner, Any],
                                              shot_on_failure: Page,
                                              released_settings: Settings) -> None:
    """Reached from the navigation, served and from the disk: one bar per cohort, split into
    spent and remaining, in English and French, with no request to another server."""
    import json

    base, _, _ = site
    page = shot_on_failure
    dp = json.loads((released_settings.releases_dir / "2026.03.02" / "datapackage.json")
                    .read_text(encoding="utf-8"))
    cohorts = dp["ctcollab"]["privacy_ledger"]["cohorts"]
    assert cohorts
    page.goto(base + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Privacy ledger").click()
    expect(page).to_have_url(re.compile(r"/ledger(\.html)?$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Privacy ledger")
    chart = page.locator("#budget-chart svg")
    expect(chart).to_be_visible()
    assert chart.locator("g.budget").count() == len(cohorts)
    spent = chart.locator("rect.spent").first.bounding_box()
    left = chart.locator("rect.remaining").first.bounding_box()
    assert spent and left and abs(spent["x"] + spent["width"] - left["x"]) < 1
    expect(page.locator("table#releases tbody tr")).to_have_count(
        len(dp["ctcollab"]["privacy_ledger"]["releases"]))
    page.get_by_role("link", name="Français").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Registre de confidentialité")
    expect(page.locator("#budget-chart svg")).to_be_visible()

    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    folder = released_settings.releases_dir / "2026.03.02" / "site"
    page.goto((folder / "fr" / "ledger.html").as_uri())
    expect(page.locator("#budget-chart svg g.budget")).to_have_count(len(cohorts))
    assert requests and all(u.startswith("file://") for u in requests), \
        [u for u in requests if not u.startswith("file://")]


def test_download_a_dataset(site: tuple[str, Partner, Any], shot_on_failure: Page,
                            released_settings: Settings) -> None:
    base, _, _ = site
    page = shot_on_failure
    page.goto(base + "/datasets")
    release = page.locator("section.release").first
    expect(release.get_by_role("heading")).to_contain_text("2026.03.02")
    with page.expect_download() as info:
        release.locator("a.download").first.click()
    download = info.value
    assert re.fullmatch(r"victims_by_year_country-2026\.03\.02\.csv", download.suggested_filename)
    published = released_settings.releases_dir / "2026.03.02" / "data" / \
        "victims_by_year_country.csv"
    assert Path(download.path()).read_bytes() == published.read_bytes()


def test_partner_signs_in_uploads_reads_the_report_and_withdraws(
        site: tuple[str, Partner, Any], shot_on_failure: Page) -> None:
    base, partner, engine = site
    page = shot_on_failure
    page.goto(base + "/partner")
    page.get_by_label("API key").fill("ctc_wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signin-error")).to_contain_text("unknown or has been revoked")

    page.get_by_label("API key").fill(partner.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#org-name")).to_have_text("ONG-A")
    assert page.evaluate("sessionStorage.getItem('ctcollab.apiKey')") == partner.key

    payload: FilePayload = {"name": "registre.csv", "mimeType": "text/csv", "buffer": FRENCH}
    page.get_by_label(re.compile("^File")).set_input_files(files=[payload])
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-status")).to_contain_text("Harmonised", timeout=30_000)
    expect(page.locator("#progress")).to_have_attribute("value", "100")
    report = page.locator("#report")
    expect(report).to_contain_text("4 rows read, 3 accepted, 1 quarantined")
    expect(report.get_by_role("table").first).to_contain_text("date-unparseable")
    expect(report).to_contain_text("Columns not used (not in your mapping): Nom, Téléphone")
    for value in ("Aminata", "+218", "D-001"):
        expect(page.locator("body")).not_to_contain_text(value)

    row = page.locator("#uploads tbody tr").first
    expect(row).to_contain_text("registre.csv")
    upload_id = int(row.get_attribute("data-upload-id") or 0)
    assert case_count(engine, upload_id) == 3
    row.get_by_role("button", name="Withdraw").click()
    page.get_by_role("button", name="Confirm withdrawal").click()
    expect(page.locator("#withdraw-status")).to_contain_text("3 cases removed")
    expect(page.locator("#uploads tbody tr").first).to_contain_text("Withdrawn")
    assert case_count(engine, upload_id) == 0

    # The key survives a reload of the tab, and signing out forgets it.
    page.reload()
    expect(page.locator("#org-name")).to_have_text("ONG-A")
    page.get_by_role("button", name="Sign out").click()
    assert page.evaluate("sessionStorage.getItem('ctcollab.apiKey')") is None


def test_partner_portal_in_french(site: tuple[str, Partner, Any], shot_on_failure: Page,
                                  tmp_path: Path) -> None:
    """The same flows on /fr/partner: every text French, the key handled as in English."""
    base, _, engine = site
    partner = add_partner(context(engine, tmp_path / "home"), "ong-fr")
    page = shot_on_failure
    page.goto(base + "/partner")
    page.get_by_role("navigation", name="Language").get_by_role("link", name="Français").click()
    expect(page).to_have_url(re.compile(r"/fr/partner$"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Portail des partenaires")
    page.get_by_label("Clé d’API").fill("ctc_wrong")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator("#signin-error")).to_have_text("Cette clé est inconnue ou a été révoquée.")
    assert page.evaluate("sessionStorage.getItem('ctcollab.apiKey')") is None

    page.get_by_label("Clé d’API").fill(partner.key)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator("#org-name")).to_have_text("ONG-FR")
    assert page.evaluate("sessionStorage.getItem('ctcollab.apiKey')") == partner.key
    expect(page.locator("#no-uploads")).to_have_text("Aucun dépôt pour l’instant.")

    rows: list[tuple[str, ...]] = [("F-" + row[0][2:], *row[1:]) for row in FRENCH_ROWS]
    payload: FilePayload = {"name": "registre-fr.csv", "mimeType": "text/csv",
                            "buffer": french_csv(rows)}
    page.get_by_label(re.compile("^Fichier")).set_input_files(files=[payload])
    page.get_by_role("button", name="Déposer").click()
    expect(page.locator("#upload-status")).to_contain_text("Harmonisé", timeout=30_000)
    expect(page.locator("#upload-status")).to_have_text(re.compile(r"^Dépôt n° \d+ : Harmonisé\.$"))
    expect(page.locator("#progress")).to_have_attribute("value", "100")
    report = page.locator("#report")
    expect(report.get_by_role("heading")).to_have_text(re.compile(r"^Rapport : registre-fr\.csv"))
    expect(report).to_contain_text("Statut : Harmonisé")
    expect(report.locator(".summary")).to_contain_text(
        "Nombre de lignes lues : 4 ; acceptées : 3 ; mises à l’écart : 1")
    reasons = report.get_by_role("table", name="Lignes mises à l’écart, par motif")
    expect(reasons).to_contain_text("Une date n’a pas pu être lue.")
    expect(reasons).to_contain_text("date-unparseable")
    expect(report).to_contain_text(
        "Colonnes non utilisées (absentes de votre correspondance) : Nom, Téléphone")
    expect(report.get_by_role("table", name="Couverture de chaque champ")).to_contain_text(
        "% rapprochés")
    for value in ("Aminata", "+218", "F-001"):
        expect(page.locator("body")).not_to_contain_text(value)
    for english in ("rows read", "accepted", "Rows set aside", "Columns not used", "Status",
                    "Report", "Withdraw", "Harmonised"):
        expect(page.locator("main")).not_to_contain_text(english)

    row = page.locator("#uploads tbody tr").first
    expect(row).to_contain_text("registre-fr.csv")
    expect(row).to_contain_text("Harmonisé")
    upload_id = int(row.get_attribute("data-upload-id") or 0)
    assert case_count(engine, upload_id) == 3
    row.get_by_role("button", name="Retirer").click()
    confirm = page.get_by_role("group", name="Confirmer le retrait")
    expect(confirm).to_contain_text("Retirer registre-fr.csv ?")
    confirm.get_by_role("button", name="Confirmer le retrait").click()
    expect(page.locator("#withdraw-status")).to_have_text(
        "Retiré : registre-fr.csv (cas supprimés : 3).")
    expect(page.locator("#uploads tbody tr").first).to_contain_text("Retiré")
    expect(report).to_contain_text("Statut : Retiré")
    assert case_count(engine, upload_id) == 0

    # The key is the tab's, not the language's: switching keeps the partner signed in.
    page.get_by_role("navigation", name="Langue").get_by_role("link", name="English").click()
    expect(page).to_have_url(re.compile(r"/partner$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#org-name")).to_have_text("ONG-FR")
    expect(page.locator("#uploads tbody tr").first).to_contain_text("Withdrawn")
    page.get_by_role("link", name="Français").click()
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.locator("#signin-error")).to_have_text("Déconnecté.")
    assert page.evaluate("sessionStorage.getItem('ctcollab.apiKey')") is None

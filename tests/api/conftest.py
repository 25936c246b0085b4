"""Fixtures of the API tests: a fixture release built once from realistic demo extracts,
the real ASGI app over it, partner organisations on SQLite and PostgreSQL, and Chromium."""

from __future__ import annotations

import re
import shutil
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import ApiConfig
from ctcollab import pipeline
from ctcollab.demodata import DEMO_ORGS, generate
from ctcollab.settings import Settings, load_settings
from tests.api.support import Partner, add_partner, context, partner_config

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def released_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Two releases of the same snapshot of realistic demo extracts (four partners)."""
    home = tmp_path_factory.mktemp("api-home")
    settings = load_settings(home=home)
    ctx = pipeline.init(settings)
    for org in DEMO_ORGS:
        pipeline.add_org(ctx, org.slug, org.name, named_contributor=True)
    for e in generate(home / "demo-data", records=1500, seed=7):
        pipeline.ingest_file(ctx, e.org_slug, e.path, mapping=e.mapping, sheet=e.sheet)
    pipeline.release(ctx, version="2026.03.01")
    pipeline.release(ctx, version="2026.03.02")
    ctx.engine.dispose()
    return settings


@pytest.fixture(scope="session")
def client(released_settings: Settings) -> Iterator[TestClient]:
    """The public-only app (no database at all) over the fixture releases."""
    app = create_app(ApiConfig(releases_dir=released_settings.releases_dir, address_rate=None))
    with TestClient(app) as c:
        yield c


@pytest.fixture
def releases_dir(released_settings: Settings) -> Path:
    return released_settings.releases_dir


@dataclass
class PartnerSetup:
    engine: sa.Engine
    config: ApiConfig
    client: TestClient
    a: Partner
    b: Partner
    ctx: pipeline.Context


@pytest.fixture
def partners(engine: sa.Engine, tmp_path: Path) -> Iterator[PartnerSetup]:
    """Organisations A and B (each with a key and the French mapping) and the full app,
    its worker running, on SQLite and on PostgreSQL."""
    ctx = context(engine, tmp_path / "home")
    a, b = add_partner(ctx, "ong-a"), add_partner(ctx, "ong-b")
    config = partner_config(engine, tmp_path)
    with TestClient(create_app(config)) as c:
        yield PartnerSetup(engine, config, c, a, b, ctx)


# --- browser tests ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any],
                             browser_name: str) -> dict[str, Any]:
    """pytest-playwright, driving Debian's Chromium (never a downloaded browser)."""
    if browser_name != "chromium":
        pytest.skip("only Debian's chromium is installed")
    if not shutil.which(CHROMIUM):
        pytest.skip("apt-get install chromium")
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": ["--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync"]}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def shot_on_failure(request: pytest.FixtureRequest, page: Any) -> Iterator[Any]:
    """The page; a full-page screenshot goes to test-artifacts/ if the test fails."""
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-120:]
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

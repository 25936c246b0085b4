"""A small fixture release built once, served by the real ASGI app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ctcollab import pipeline
from ctcollab.settings import Settings, load_settings
from tests.ctcollab.conftest import FRENCH_MAPPING, FRENCH_ROWS, french_csv


@pytest.fixture(scope="session")
def released_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("api-home")
    settings = load_settings(home=home)
    ctx = pipeline.init(settings)
    pipeline.add_org(ctx, "ong-test", "ONG Test", named_contributor=True)
    data = home / "registre.csv"
    data.write_bytes(french_csv(FRENCH_ROWS))
    mapping = home / "m.yaml"
    mapping.write_text(FRENCH_MAPPING, encoding="utf-8")
    pipeline.ingest_file(ctx, "ong-test", data, mapping=mapping)
    pipeline.release(ctx, version="2026.03.01")
    pipeline.release(ctx, version="2026.03.02")
    return settings


@pytest.fixture(scope="session")
def client(released_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(released_settings.releases_dir)) as c:
        yield c


@pytest.fixture
def releases_dir(released_settings: Settings) -> Path:
    return released_settings.releases_dir

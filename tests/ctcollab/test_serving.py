"""The served app takes its limits and CORS origins from CTCOLLAB_* settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ctcollab.serving import api_config
from ctcollab.settings import load_settings


def test_rate_limit_and_cors_come_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    monkeypatch.setenv("CTCOLLAB_ADDRESS_RATE_PER_SECOND", "0.01")
    monkeypatch.setenv("CTCOLLAB_ADDRESS_RATE_BURST", "2")
    monkeypatch.setenv("CTCOLLAB_CORS_ORIGINS", '["https://newsroom.example"]')
    config = api_config(load_settings(home=tmp_path), None)
    assert config.cors_origins == ("https://newsroom.example",)
    with TestClient(create_app(config)) as client:
        first = client.get("/api/v1/releases", headers={"Origin": "https://newsroom.example"})
        assert first.headers["access-control-allow-origin"] == "https://newsroom.example"
        other = client.get("/api/v1/releases", headers={"Origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in other.headers
        third = client.get("/api/v1/releases")
    assert [first.status_code, other.status_code] == [200, 200]
    assert third.status_code == 429 and int(third.headers["retry-after"]) >= 1


def test_a_zero_rate_turns_the_limit_off(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    monkeypatch.setenv("CTCOLLAB_ADDRESS_RATE_PER_SECOND", "0")
    monkeypatch.setenv("CTCOLLAB_ADDRESS_RATE_BURST", "1")
    config = api_config(load_settings(home=tmp_path), None)
    assert config.address_rate is None and config.key_rate is not None
    with TestClient(create_app(config)) as client:
        assert {client.get("/api/v1/releases").status_code for _ in range(5)} == {200}

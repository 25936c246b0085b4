"""Settings: typed, validated at start, and failing with the setting's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctcollab.settings import load_settings
from schemas.errors import ConfigurationError


def test_defaults_use_sqlite_under_home(tmp_path: Path) -> None:
    s = load_settings(home=tmp_path)
    assert s.db_url == f"sqlite:///{tmp_path.resolve() / 'ctcollab.db'}"
    assert s.raw_dir == tmp_path / "raw"


@pytest.mark.parametrize(("env", "value", "name"), [
    ("CTCOLLAB_MAX_UPLOAD_BYTES", "-5", "CTCOLLAB_MAX_UPLOAD_BYTES"),
    ("CTCOLLAB_ENV", "staging", "CTCOLLAB_ENV"),
    ("CTCOLLAB_SECRET", "changeme", "CTCOLLAB_SECRET"),
    ("CTCOLLAB_BUDGET_RHO_CAP", "lots", "CTCOLLAB_BUDGET_RHO_CAP"),
])
def test_invalid_values_name_the_setting(monkeypatch: pytest.MonkeyPatch, env: str, value: str,
                                         name: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigurationError) as err:
        load_settings()
    assert name in str(err.value)


def test_development_creates_a_private_secret_once(tmp_path: Path) -> None:
    s = load_settings(home=tmp_path)
    first = s.case_key_secret()
    assert len(first) == 64
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert s.case_key_secret() == first


def test_production_refuses_a_missing_secret(tmp_path: Path) -> None:
    s = load_settings(home=tmp_path, env="production")
    with pytest.raises(ConfigurationError):
        s.case_key_secret()

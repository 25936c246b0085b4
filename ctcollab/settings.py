"""The one typed settings object, read from CTCOLLAB_* environment variables."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.errors import ConfigurationError

SECRET_FILE = "secret.key"
PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "test", "dev", "development", "xxx"}


class Settings(BaseSettings):
    """ctcollab's settings; each can be set as ``CTCOLLAB_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CTCOLLAB_", extra="ignore", frozen=True)

    home: Path = Field(Path("var"), description="Folder for the embedded database, raw store "
                       "and releases.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in HOME.")
    env: Literal["development", "production"] = Field(
        "development", description="production refuses missing or placeholder secrets.")
    secret: str | None = Field(None, description="Deployment secret for case keys (HMAC-SHA256). "
                               "In development a random one is created in HOME/secret.key.")
    max_upload_bytes: int = Field(50 * 1024 * 1024, gt=0, description="Largest upload accepted.")
    budget_rho_cap: float = Field(2.0, gt=0, description="Initial lifetime zCDP rho per cohort.")
    budget_delta_cap: float = Field(
        1e-6, gt=0, lt=1e-3, description="Initial lifetime delta per cohort: pac-synth's deltas "
        "plus the delta at which the zCDP total is converted to (epsilon, delta).")
    budget_epsilon_cap: float | None = Field(
        None, gt=0, description="Initial lifetime epsilon per cohort, zCDP and (epsilon, delta) "
        "spends composed at the delta cap; default: the rho cap converted at the delta cap.")
    licence: str = Field("CC-BY-4.0", description="Licence of published releases (SPDX id).")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Limits of the served app; a rate of 0 turns that limit off (e.g. behind a proxy that
    # limits already).
    address_rate_per_second: float = Field(20.0, ge=0, description="Requests per second "
                                           "sustained per client address (0: no limit).")
    address_rate_burst: int = Field(120, ge=1, description="Burst allowed per client address.")
    key_rate_per_second: float = Field(10.0, ge=0, description="Requests per second sustained "
                                       "per partner API key (0: no limit).")
    key_rate_burst: int = Field(60, ge=1, description="Burst allowed per partner API key.")
    cors_origins: tuple[str, ...] = Field(("*",), description="Origins that may read the "
                                          "public API from a browser, as a JSON list; [] for "
                                          "none.")

    @field_validator("secret")
    @classmethod
    def _secret_is_real(cls, value: str | None) -> str | None:
        if value is not None and (len(value) < 32 or value.lower() in PLACEHOLDER_SECRETS):
            raise ValueError("must be at least 32 characters and not a placeholder")
        return value

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home.resolve() / 'ctcollab.db'}"

    @property
    def raw_dir(self) -> Path:
        return self.home / "raw"

    @property
    def releases_dir(self) -> Path:
        return self.home / "releases"

    def ensure_home(self) -> Path:
        """Create HOME readable by its owner only (0700): it holds the database, the raw
        uploads and the secret. An existing HOME is narrowed to 0700 too."""
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.home.stat().st_mode & 0o077:
            self.home.chmod(0o700)
        return self.home

    def case_key_secret(self) -> bytes:
        """The HMAC secret; in development it is created once and kept in HOME (mode 0600)."""
        if self.secret:
            return self.secret.encode()
        if self.env == "production":
            raise ConfigurationError("CTCOLLAB_SECRET is not set",
                                     hint="production needs a deployment secret of 32+ characters")
        path = self.home / SECRET_FILE
        if not path.exists():
            self.ensure_home()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        return path.read_text().strip().encode()


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning a validation failure into a ConfigurationError naming the setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as err:
        first = err.errors()[0]
        name = "CTCOLLAB_" + str(first["loc"][0]).upper() if first["loc"] else "CTCOLLAB_*"
        raise ConfigurationError(f"invalid setting {name}: {first['msg']}") from err

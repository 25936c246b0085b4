"""The served app's configuration, built from the settings (the app never reads them itself)."""

from __future__ import annotations

import sqlalchemy as sa

from api.config import ApiConfig, Rate
from ctcollab.settings import Settings


def _rate(per_second: float, burst: int) -> Rate | None:
    return Rate(per_second, burst) if per_second > 0 else None


def api_config(settings: Settings, engine: sa.Engine | None) -> ApiConfig:
    """The public API and site, plus the partner API and its worker when given an engine."""
    return ApiConfig(
        releases_dir=settings.releases_dir, engine=engine,
        raw_dir=settings.raw_dir if engine is not None else None,
        secret=settings.case_key_secret if engine is not None else None,
        max_upload_bytes=settings.max_upload_bytes,
        address_rate=_rate(settings.address_rate_per_second, settings.address_rate_burst),
        key_rate=_rate(settings.key_rate_per_second, settings.key_rate_burst),
        cors_origins=settings.cors_origins)

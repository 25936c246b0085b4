"""ApiConfig: everything the app needs, handed in by the composition root (never read here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

#: the largest page the API documents; a deployment may choose a smaller one
PAGE_SIZE_LIMIT = 1000


@dataclass(frozen=True)
class Rate:
    """A token bucket: ``per_second`` sustained, bursts of up to ``burst`` requests."""

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError("a rate needs per_second > 0 and burst >= 1")


@dataclass(frozen=True)
class ApiConfig:
    """The app's settings. Only ``releases_dir`` is required: without an engine the app is
    public-only (releases, tables, files, pages) and has no partner routes at all."""

    releases_dir: Path
    #: the secure-zone database; None for a public-only app
    engine: sa.Engine | None = None
    #: the raw store's folder (partner uploads); required with an engine
    raw_dir: Path | None = None
    #: the deployment secret for case keys, asked for only when an upload is processed
    secret: Callable[[], bytes] | None = None
    max_upload_bytes: int = 50 * 1024 * 1024
    #: per client address, on every route but static files and /healthz
    address_rate: Rate | None = Rate(per_second=20, burst=120)
    #: per API key, on the partner routes
    key_rate: Rate | None = Rate(per_second=10, burst=60)
    #: origins allowed to read the public API from a browser (GET only); "*" for any
    cors_origins: tuple[str, ...] = ("*",)
    page_size: int = 100
    max_page_size: int = 1000
    #: run the upload worker (a thread in this process) while the app runs
    run_worker: bool = True
    #: an upload left ``parsed`` for longer than this is marked failed at start, not resumed
    stale_after_seconds: float = 24 * 3600
    #: how often the worker looks in the database for uploads it was not told about
    worker_scan_seconds: float = 30.0
    #: how long a withdrawal waits for the upload's processing to finish before a 409
    withdraw_wait_seconds: float = 30.0
    #: bytes of precomputed responses and release files kept in memory
    response_cache_bytes: int = 256 * 1024 * 1024
    #: release files up to this size are served from memory; larger ones are streamed
    file_cache_max_bytes: int = 16 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.engine is not None and self.raw_dir is None:
            raise ValueError("ApiConfig: raw_dir is required with an engine")
        if not 1 <= self.page_size <= self.max_page_size <= PAGE_SIZE_LIMIT:
            raise ValueError("ApiConfig: need 1 <= page_size <= max_page_size <= "
                             f"{PAGE_SIZE_LIMIT}")

    @property
    def partner_api(self) -> bool:
        return self.engine is not None

"""Helpers for the API tests: partner organisations with keys and mappings, a live server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import uvicorn

from api.config import ApiConfig
from ctcollab import pipeline
from ctcollab.settings import load_settings
from harmonize import registry
from schemas.tables import cases, uploads
from tests.ctcollab.conftest import FRENCH_MAPPING, FRENCH_ROWS, french_csv

SECRET = b"s" * 48
FRENCH = french_csv(list(FRENCH_ROWS))


@dataclass(frozen=True)
class Partner:
    slug: str
    org_id: int
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def context(engine: sa.Engine, home: Path) -> pipeline.Context:
    return pipeline.Context(load_settings(home=home), engine)


def add_partner(ctx: pipeline.Context, slug: str, *, mapping: str | None = FRENCH_MAPPING
                ) -> Partner:
    key = pipeline.add_org(ctx, slug, slug.upper())
    with ctx.engine.begin() as conn:
        org_id = pipeline.org_id_of(conn, slug)
        if mapping is not None:
            registry.register(conn, org_id, mapping.replace("ong-test/1", f"{slug}/1"))
    return Partner(slug, org_id, key)


def partner_config(engine: sa.Engine, tmp: Path, **overrides: Any) -> ApiConfig:
    values: dict[str, Any] = {
        "releases_dir": tmp / "releases", "engine": engine, "raw_dir": tmp / "raw",
        "secret": lambda: SECRET, "max_upload_bytes": 1024 * 1024, "worker_scan_seconds": 0.2,
        "address_rate": None, "key_rate": None,
    }
    values.update(overrides)
    return ApiConfig(**values)


def count(engine: sa.Engine, table: sa.Table, *where: Any) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(table)
        for w in where:
            query = query.where(w)
        return int(conn.execute(query).scalar_one())


def case_count(engine: sa.Engine, upload_id: int) -> int:
    return count(engine, cases, cases.c.upload_id == upload_id)


def upload_count(engine: sa.Engine) -> int:
    return count(engine, uploads)


def raw_files(raw_dir: Path) -> list[Path]:
    return [p for p in raw_dir.rglob("*") if p.is_file()] if raw_dir.exists() else []


def wait_for_status(get: Any, url: str, headers: dict[str, str], *, timeout: float = 30.0,
                    ) -> dict[str, Any]:
    """Poll an upload until it leaves received/parsed (as a partner's client would)."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = get(url, headers=headers).json()
        if body["status"] not in ("received", "parsed"):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"upload still {body['status']} after {timeout}s")
        time.sleep(0.05)


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn (uvloop, httptools) on 127.0.0.1 and a free port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, loop="uvloop", http="httptools", log_level="warning",
                            access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        httpx.get(f"{base}/healthz", timeout=5).raise_for_status()
        yield base
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()

"""The FastAPI application: the public API and site over release folders, and the partner API.

``create_app(ApiConfig(releases_dir=...))`` is a public-only app; with an engine and a raw
store it also receives partner uploads and harmonises them in a worker thread. Public routes
read release artefacts only, never the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from starlette.types import ASGIApp

from api import problems
from api.cache import ResponseCache
from api.config import ApiConfig
from api.edge import Edge
from api.models import Health
from api.public import PublicData
from api.releases_store import ReleaseStore
from api.routes import files, organisation, releases, site, static, tables, uploads
from api.worker import UploadWorker
from ingest.raw_store import RawStore


class CtcollabApp(FastAPI):
    """FastAPI with the edge (rate limits, headers, cached answers) outside everything else."""

    def build_middleware_stack(self) -> ASGIApp:
        return Edge(super().build_middleware_stack(), config=self.state.config,
                    cache=self.state.cache, store=self.state.store)


def _document(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document as the app behaves: invalid parameters are 400 problems (not
    FastAPI's 422 validation errors), and every error body is a Problem."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = problems.Problem.model_json_schema(
        ref_template="#/components/schemas/{model}")
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.get("responses", {})
            content = responses.get("422", {}).get("content", {})
            content.pop("application/json", None)
            if "422" in responses and not content:
                del responses["422"]
                if operation.get("parameters") or operation.get("requestBody"):
                    responses.setdefault("400", problems.responses(400)[400])
    return schema


def _missing_secret() -> bytes:
    raise problems.NotConfigured("no case-key secret was configured for processing uploads")


def create_app(config: ApiConfig | Path) -> FastAPI:
    """Build the app (a ``Path`` is a public-only app over that releases folder)."""
    if not isinstance(config, ApiConfig):
        config = ApiConfig(releases_dir=Path(config))
    store = ReleaseStore(config.releases_dir)
    worker: UploadWorker | None = None
    raw: RawStore | None = None
    if config.engine is not None and config.raw_dir is not None:
        raw = RawStore(config.raw_dir)
        worker = UploadWorker(config.engine, raw, config.secret or _missing_secret,
                              stale_after=config.stale_after_seconds,
                              scan_every=config.worker_scan_seconds,
                              withdraw_wait=config.withdraw_wait_seconds)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if worker is not None and config.run_worker:
            await anyio.to_thread.run_sync(worker.start)
        try:
            yield
        finally:
            if worker is not None:
                await anyio.to_thread.run_sync(worker.stop)

    app = CtcollabApp(
        title="ctcollab API", version="1", lifespan=lifespan,
        description="Privacy-protected open data on identified victims of trafficking "
                    "(public, read-only), and the upload API of partner organisations.",
        docs_url=None, redoc_url=None, openapi_url="/api/v1/openapi.json")
    app.state.config = config
    app.state.store = store
    app.state.cache = ResponseCache(config.response_cache_bytes)
    app.state.public = PublicData(store, page_size=config.page_size,
                                  max_page_size=config.max_page_size,
                                  file_cache_max_bytes=config.file_cache_max_bytes)
    app.state.worker = worker
    app.state.raw_store = raw
    problems.install(app)
    # The hot routes first: routing tries them in order.
    app.include_router(tables.router)
    app.include_router(files.router)
    app.include_router(releases.router)
    if config.partner_api:
        app.include_router(uploads.router)
        app.include_router(organisation.router)
    app.include_router(static.router)

    @app.get("/healthz", response_model=Health, tags=["health"],
             responses=problems.responses(429), summary="Liveness and number of releases")
    async def healthz() -> Health:
        return Health(status="ok", releases=len(store.versions()))

    # Last: the site's catch-all route answers every path the routes above do not.
    app.include_router(site.router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app

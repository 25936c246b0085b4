"""The FastAPI application: public read-only API and site over release folders."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request

from api import problems
from api.models import Health
from api.releases_store import ReleaseStore
from api.routes import releases, site


def create_app(releases_dir: Path) -> FastAPI:
    """Build the app. It reads release artefacts only, never the cases table."""
    app = FastAPI(title="ctcollab API", version="1", docs_url="/api/docs",
                  openapi_url="/api/v1/openapi.json")
    app.state.releases = ReleaseStore(releases_dir)
    problems.install(app)
    app.include_router(releases.router)
    app.include_router(site.router)

    @app.get("/healthz", response_model=Health, tags=["health"])
    def healthz(request: Request) -> Health:
        store: ReleaseStore = request.app.state.releases
        return Health(status="ok", releases=len(store.versions()))

    return app

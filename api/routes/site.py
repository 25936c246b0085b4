"""Server-rendered pages of the public site (Jinja2), built from release artefacts only."""

from __future__ import annotations

import contextlib

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.releases_store import ReleaseStore
from schemas.errors import NotFound

router = APIRouter(tags=["site"], include_in_schema=False)
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("api", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    store: ReleaseStore = request.app.state.releases
    items = [{"version": v, **store.datapackage(v)} for v in store.versions()]
    latest = None
    with contextlib.suppress(NotFound):
        latest = store.resolve("latest")
    html = TEMPLATES.get_template("home.html").render(releases=items, latest=latest)
    return HTMLResponse(html)

"""Public, read-only routes over published releases."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from api.models import ReleaseDetail, ReleaseList, ReleaseSummary, ResourceSummary
from api.releases_store import ReleaseStore
from schemas.errors import NotFound

router = APIRouter(prefix="/api/v1/releases", tags=["releases"])


def get_store(request: Request) -> ReleaseStore:
    store: ReleaseStore = request.app.state.releases
    return store


Store = Annotated[ReleaseStore, Depends(get_store)]


def _licence(dp: dict[str, Any]) -> str:
    licences = dp.get("licenses") or [{}]
    return str(licences[0].get("name", ""))


def citation(dp: dict[str, Any]) -> str:
    return (f"ctcollab counter-trafficking data collaborative ({dp['created'][:4]}). "
            f"{dp['title']}, release {dp['version']}. Licence {_licence(dp)}.")


@router.get("", response_model=ReleaseList)
def list_releases(store: Store, request: Request) -> ReleaseList:
    items = []
    for version in store.versions():
        dp = store.datapackage(version)
        items.append(ReleaseSummary(
            version=version, title=dp["title"], created=dp["created"], licence=_licence(dp),
            url=str(request.url_for("get_release", version=version))))
    latest = None
    with contextlib.suppress(NotFound):
        latest = store.resolve("latest")
    return ReleaseList(releases=items, latest=latest)


@router.get("/{version}", response_model=ReleaseDetail)
def get_release(version: str, store: Store, request: Request) -> ReleaseDetail:
    resolved = store.resolve(version)
    dp = store.datapackage(resolved)
    resources = [
        ResourceSummary(
            name=r["name"], title=r.get("title", r["name"]), path=r["path"], format=r["format"],
            privacy=r.get("privacy", {}),
            download=str(request.url_for("download", version=resolved, path=r["path"])))
        for r in dp["resources"]
    ]
    return ReleaseDetail(
        version=resolved, title=dp["title"], created=dp["created"], licence=_licence(dp),
        citation=citation(dp), resources=resources,
        datapackage=str(request.url_for("download", version=resolved, path="datapackage.json")))


@router.get("/{version}/files/{path:path}", name="download")
def download(version: str, path: str, store: Store) -> FileResponse:
    resolved = store.resolve(version)
    file = store.file(resolved, path)
    digest = store.manifest(resolved).get(path) or ""
    headers = {"Cache-Control": "public, max-age=31536000, immutable"} if version != "latest" \
        else {"Cache-Control": "no-cache"}
    if digest:
        headers["ETag"] = f'"{digest}"'
    return FileResponse(file, headers=headers)

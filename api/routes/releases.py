"""Public, read-only routes over published releases: the list and one release."""

from __future__ import annotations

from fastapi import APIRouter

from api import problems
from api.deps import Public, Store
from api.models import ReleaseDetail, ReleaseList, ReleaseSummary, ResourceSummary
from api.public import API

router = APIRouter(prefix=API, tags=["releases"])


@router.get("", response_model=ReleaseList, responses=problems.responses(429),
            summary="List the published releases, newest first")
async def list_releases(store: Store, public: Public) -> ReleaseList:
    items = []
    for version in store.versions():
        info = public.info(version)
        items.append(ReleaseSummary(version=version, title=info.title, created=info.created,
                                    licence=info.licence.get("name", ""),
                                    citation=info.citation, url=info.url))
    return ReleaseList(releases=items, latest=store.latest())


@router.get("/{version}", response_model=ReleaseDetail,
            responses=problems.responses(404, 429),
            summary="One release (or 'latest'): its files, privacy parameters and citation")
async def get_release(version: str, public: Public) -> ReleaseDetail:
    info = public.info(version)
    tables = {r["name"] for r in info.tables()}
    resources = [
        ResourceSummary(
            name=r["name"], title=r.get("title", r["name"]), path=r["path"], format=r["format"],
            privacy=r.get("privacy", {}), download=f"{info.url}/files/{r['path']}",
            table=f"{info.url}/tables/{r['name']}" if r["name"] in tables else None)
        for r in info.datapackage.get("resources", [])
    ]
    return ReleaseDetail(
        version=info.version, title=info.title, created=info.created,
        licence=info.licence.get("name", ""), licence_url=info.licence.get("path"),
        citation=info.citation, resources=resources,
        datapackage=f"{info.url}/files/datapackage.json", tables=f"{info.url}/tables")

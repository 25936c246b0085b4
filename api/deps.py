"""Dependencies of the routes, as ``Annotated`` aliases.

The ones that only look something up are ``async``, so FastAPI calls them inline rather than
in its thread pool; the key lookup (a database query) stays a plain function.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import OrgRef, organisation_for_key
from api.cache import ResponseCache
from api.config import ApiConfig
from api.problems import InvalidFilter, NotConfigured
from api.public import PublicData
from api.releases_store import ReleaseStore
from api.tables import shown_name
from api.worker import UploadWorker
from ingest.raw_store import RawStore

bearer = HTTPBearer(auto_error=False, scheme_name="partnerKey",
                    description="The organisation's API key (created with "
                                "`ctcollab org add` or `ctcollab org new-key`).")


async def get_config(request: Request) -> ApiConfig:
    config: ApiConfig = request.app.state.config
    return config


async def get_store(request: Request) -> ReleaseStore:
    store: ReleaseStore = request.app.state.store
    return store


async def get_public(request: Request) -> PublicData:
    public: PublicData = request.app.state.public
    return public


async def get_cache(request: Request) -> ResponseCache:
    cache: ResponseCache = request.app.state.cache
    return cache


async def get_engine(request: Request) -> sa.Engine:
    engine: sa.Engine | None = request.app.state.config.engine
    if engine is None:
        raise NotConfigured("this server publishes releases only; it has no partner API")
    return engine


async def get_raw_store(request: Request) -> RawStore:
    store: RawStore = request.app.state.raw_store
    return store


async def get_worker(request: Request) -> UploadWorker:
    worker: UploadWorker = request.app.state.worker
    return worker


async def strict_query(request: Request) -> None:
    """Refuse query parameters a route does not declare, and repeats of single ones (a typo
    such as ``?stauts=`` should not silently list everything)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    declared = {p.alias for p in getattr(dependant, "query_params", [])}
    for dep in getattr(dependant, "dependencies", []):
        declared |= {p.alias for p in dep.query_params}
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name not in declared:
            raise InvalidFilter(f"unknown query parameter {shown_name(name)}",
                                hint="allowed: " + (", ".join(sorted(declared)) or "none"))
        if name in seen:
            raise InvalidFilter(f"query parameter {name!r} is given more than once")
        seen.add(name)


def get_org(engine: Annotated[sa.Engine, Depends(get_engine)],
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
            ) -> OrgRef:
    """The organisation of the request's API key (never anything the request says)."""
    return organisation_for_key(engine, credentials.credentials if credentials else None)


Config = Annotated[ApiConfig, Depends(get_config)]
Store = Annotated[ReleaseStore, Depends(get_store)]
Public = Annotated[PublicData, Depends(get_public)]
Cache = Annotated[ResponseCache, Depends(get_cache)]
Engine = Annotated[sa.Engine, Depends(get_engine)]
Raw = Annotated[RawStore, Depends(get_raw_store)]
Worker = Annotated[UploadWorker, Depends(get_worker)]
CurrentOrg = Annotated[OrgRef, Depends(get_org)]

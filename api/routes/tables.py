"""Public table queries: filters per column, facets, cursor pages, JSON or CSV.

Answers are built once per release, table and query from the release's files and kept as
bytes (see api/cache.py); the edge sends them again without coming here.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import Response

from api import problems
from api.cache import answer
from api.config import PAGE_SIZE_LIMIT
from api.deps import Cache, Public
from api.models import ReleaseRef, TableInfo, TableList, TablePage
from api.public import API
from api.tables import FACET, FORMAT, NEXT, SIZE
from schemas.definition import SCHEMA

router = APIRouter(prefix=API, tags=["tables"])
DIMENSIONS = [f for f in SCHEMA.case_fields if f.type in ("year", "category", "country", "flag")]


def _query_parameters(max_page_size: int) -> list[dict[str, Any]]:
    """The query's parameters for the OpenAPI document, the filters generated from schemas/."""
    params: list[dict[str, Any]] = [
        {"name": FORMAT, "in": "query", "required": False,
         "schema": {"type": "string", "enum": ["json", "csv"], "default": "json"},
         "description": "json (paged) or csv (every matching row unless _size/_next is given)"},
        {"name": SIZE, "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": max_page_size},
         "description": "Rows per page"},
        {"name": NEXT, "in": "query", "required": False, "schema": {"type": "string"},
         "description": "Opaque cursor: the 'next' of the previous page"},
        {"name": FACET, "in": "query", "required": False, "style": "form", "explode": True,
         "schema": {"type": "array", "items": {"type": "string"}},
         "description": "Count the matching rows per value of these columns"},
        {"name": "flag", "in": "query", "required": False, "style": "form", "explode": True,
         "schema": {"type": "array", "items": {"type": "string", "enum": ["", "c", "u"]}},
         "description": "Filter on the flag (empty: unflagged rows)"},
    ]
    for f in DIMENSIONS:
        params.append({
            "name": f.name, "in": "query", "required": False, "style": "form", "explode": True,
            "schema": {"type": "array", "items": {"type": "string"}},
            "description": f"Filter on {f.title.lower()} (tables that have this column). "
                           "Repeat for any of several values; an empty value matches empty "
                           "cells ('not supplied').",
        })
    return params


def _ref(public: Public, version: str) -> ReleaseRef:
    return ReleaseRef.model_validate_json(public.info(version).head)


@router.get("/{version}/tables", response_model=TableList,
            responses=problems.responses(404, 429),
            summary="The release's tables, their columns and what protects them")
async def list_tables(version: str, public: Public) -> TableList:
    info = public.info(version)
    tables = []
    for resource in info.tables():
        table = public.loaded(info.version, resource["name"])
        if table is None:
            table = await anyio.to_thread.run_sync(public.table, info.version, resource["name"])
        tables.append(TableInfo.model_validate(table.info))
    return TableList(release=_ref(public, info.version), tables=tables)


@router.get(
    "/{version}/tables/{name}", response_model=TablePage,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                     "description": "A page of matching rows (JSON), or CSV"},
               **problems.responses(400, 404, 429)},
    openapi_extra={"parameters": _query_parameters(PAGE_SIZE_LIMIT)},
    summary="Query a table: filters, facets, pages; JSON or CSV")
async def query_table(version: str, name: str, request: Request, public: Public,
                      cache: Cache) -> Response:
    info = public.info(version)
    if public.loaded(info.version, name) is None:
        await anyio.to_thread.run_sync(public.table, info.version, name)
    scope = request.scope
    entry = public.query(version, name, scope["query_string"].decode("latin-1"))
    return answer(scope["path"], scope["query_string"], request.headers.get("if-none-match"),
                  cache, entry)

"""Release file downloads: versioned URLs are immutable (ETag, a year's cache); 'latest' is not."""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from api import problems
from api.cache import answer
from api.deps import Cache, Public
from api.public import API

router = APIRouter(prefix=API, tags=["files"])


@router.get(
    "/{version}/files/{path:path}", name="download",
    responses={200: {"description": "The file (CSV, Parquet, JSON, HTML or text)",
                     "content": {"text/csv": {"schema": {"type": "string"}},
                                 "application/vnd.apache.parquet":
                                     {"schema": {"type": "string", "format": "binary"}},
                                 "application/json": {"schema": {"type": "object"}},
                                 "text/html": {"schema": {"type": "string"}},
                                 "text/plain": {"schema": {"type": "string"}}}},
               304: {"description": "Not modified (If-None-Match matched the ETag)"},
               **problems.responses(404, 429)},
    response_class=Response,
    summary="Download a file of a release (listed in its SHA256SUMS)")
async def download(version: str, path: str, request: Request, public: Public,
                   cache: Cache) -> Response:
    return await send_file(request, cache, public, version, path)


async def send_file(request: Request, cache: Cache, public: Public, version: str,
                    path: str) -> Response:
    """A file of a release: from memory (prepared once), or streamed when it is large."""
    found = await anyio.to_thread.run_sync(public.file, version, path)
    if isinstance(found, tuple):  # too large to keep in memory: streamed from the disk
        file, headers = found
        response = FileResponse(file)
        for name, value in headers:
            response.headers[name.decode()] = value.decode("latin-1")
        return response
    scope = request.scope
    return answer(scope["path"], scope["query_string"], request.headers.get("if-none-match"),
                  cache, found)

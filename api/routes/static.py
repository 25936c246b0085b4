"""The app's own pages' static files (the site's stylesheet, the partner portal's script),
from memory.

Pages link them as ``/static/<name>?v=<hash>``, so they can be cached for a year.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from schemas.errors import NotFound

router = APIRouter(prefix="/static", include_in_schema=False)
TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".svg": "image/svg+xml"}


@cache
def _assets() -> dict[str, tuple[bytes, str]]:
    # The partner portal wears the release site's stylesheet (publish renders it into every
    # release): one stylesheet, not two copies drifting apart.
    items = [*resources.files("api").joinpath("static").iterdir(),
             resources.files("publish").joinpath("templates", "site", "site.css")]
    out = {}
    for item in items:
        suffix = "." + item.name.rsplit(".", 1)[-1]
        if item.is_file() and suffix in TYPES:
            data = item.read_bytes()
            out[item.name] = (data, hashlib.sha256(data).hexdigest()[:12])
    return out


def asset_url(name: str) -> str:
    return f"/static/{name}?v={_assets()[name][1]}"


@router.get("/{name}")
async def asset(name: str) -> Response:
    found = _assets().get(name)
    if found is None:
        raise NotFound("no such file")
    data, digest = found
    return Response(data, media_type=TYPES["." + name.rsplit(".", 1)[-1]],
                    headers={"Cache-Control": "public, max-age=31536000, immutable",
                             "ETag": f'"{digest}"'})

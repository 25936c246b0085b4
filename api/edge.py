"""The edge of the app (pure ASGI, outermost): rate limits, security headers, read-only CORS
for the public API, and answers from the cache of prepared responses.

A published release never changes, so a response built once for a table query or a release
file is sent again as the same bytes, without routing or validation; anything not in the
cache goes through the FastAPI routes, which put what they build here.
"""

from __future__ import annotations

import hashlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.cache import Prepared, ResponseCache
from api.config import ApiConfig
from api.headers import SECURITY, Header, merge
from api.problems import MEDIA_TYPE, problem_body
from api.ratelimit import Buckets, retry_after
from api.releases_store import ReleaseStore

PUBLIC_API = "/api/v1/releases"
PARTNER_API = ("/api/v1/uploads", "/api/v1/organisation")
UNLIMITED = ("/static/", "/healthz")


def is_public_api(path: str) -> bool:
    return path.startswith(PUBLIC_API) or path == "/api/v1/openapi.json"


class Edge:
    def __init__(self, app: ASGIApp, *, config: ApiConfig, cache: ResponseCache,
                 store: ReleaseStore) -> None:
        self.app = app
        self.cache = cache
        self.store = store
        self.by_address = Buckets(config.address_rate) if config.address_rate else None
        self.by_key = Buckets(config.key_rate) if config.key_rate else None
        origins = config.cors_origins
        self.any_origin = "*" in origins
        self.origins = frozenset(o.encode() for o in origins)

    def _cors(self, origin: bytes | None) -> list[Header]:
        if origin is None:
            return []
        if self.any_origin:
            return [(b"access-control-allow-origin", b"*"),
                    (b"access-control-expose-headers", b"link, etag, retry-after, "
                     b"x-ctcollab-release, x-ctcollab-licence")]
        if origin in self.origins:
            return [(b"access-control-allow-origin", origin), (b"vary", b"origin"),
                    (b"access-control-expose-headers", b"link, etag, retry-after, "
                     b"x-ctcollab-release, x-ctcollab-licence")]
        return []

    def _limited(self, scope: Scope, path: str, auth: bytes | None) -> float:
        if path.startswith(UNLIMITED):
            return 0.0
        if self.by_address is not None:
            client = scope.get("client")
            wait = self.by_address.take(client[0] if client else "unknown")
            if wait:
                return wait
        if self.by_key is not None and auth is not None and path.startswith(PARTNER_API):
            return self.by_key.take(hashlib.sha256(auth).hexdigest())
        return 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        origin = if_none_match = auth = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"if-none-match":
                if_none_match = value
            elif name == b"authorization":
                auth = value
        public = is_public_api(path)
        cors = self._cors(origin) if public else []

        wait = self._limited(scope, path, auth)
        if wait:
            body = problem_body(429, "rate-limited", "Too many requests",
                                "Slow down: this address or key sent too many requests.",
                                hint=f"retry after {retry_after(wait)} seconds")
            await self._send(send, 429, [(b"content-type", MEDIA_TYPE.encode()),
                                         (b"retry-after", retry_after(wait).encode()),
                                         (b"content-length", str(len(body)).encode()),
                                         *cors], body)
            return

        method = scope["method"]
        if method == "HEAD":
            # HEAD is GET without the body (RFC 9110 9.3.2), so a researcher's `curl -I` sees
            # a download's size, ETag and type; the headers are exactly those of the GET.
            scope, send, method = {**scope, "method": "GET"}, _without_body(send), "GET"
        if method == "OPTIONS" and public and origin is not None and cors:
            await self._send(send, 204, [*cors, (b"access-control-allow-methods", b"GET"),
                                         (b"access-control-allow-headers", b"if-none-match"),
                                         (b"access-control-max-age", b"600")], b"")
            return
        if method == "GET":
            entry = self.cache.get((path, scope["query_string"]))
            if entry is not None and (not entry.follows_latest
                                      or entry.version == self.store.latest()):
                await self._hit(send, entry, if_none_match, cors)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = merge(list(message.get("headers", [])),
                                           [*SECURITY, *cors])
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _hit(self, send: Send, entry: Prepared, if_none_match: bytes | None,
                   cors: list[Header]) -> None:
        if if_none_match is not None and entry.etag and (
                f'"{entry.etag}"'.encode() in if_none_match or if_none_match == b"*"):
            headers = [h for h in entry.headers if h[0] in (b"etag", b"cache-control")]
            await self._send(send, 304, [*headers, *cors], b"")
            return
        await send({"type": "http.response.start", "status": entry.status,
                    "headers": [*entry.wire, *cors] if cors else entry.wire})
        await send({"type": "http.response.body", "body": entry.body})

    @staticmethod
    async def _send(send: Send, status: int, headers: list[Header], body: bytes) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": merge(headers, SECURITY)})
        await send({"type": "http.response.body", "body": body})


def _without_body(send: Send) -> Send:
    async def send_headers_only(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b""}
        await send(message)
    return send_headers_only

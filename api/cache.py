"""Prepared responses and the in-memory cache of them (published releases never change).

A ``Prepared`` response is status, headers and body bytes, built once. The cache is keyed by
request path and query string; an entry built for a ``latest`` URL remembers which release
``latest`` meant and stops counting once the pointer moves.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from fastapi.responses import Response

from api.headers import SECURITY, Header, merge

Key = tuple[str, bytes]


@dataclass(frozen=True)
class Prepared:
    status: int
    media_type: str
    body: bytes
    headers: tuple[Header, ...] = ()
    #: the concrete release the body was built from (None: independent of any release)
    version: str | None = None
    #: True when the URL named ``latest`` (valid only while latest is ``version``)
    follows_latest: bool = False
    etag: str = field(default="")
    #: every header as sent on the wire, security headers included (built once)
    wire: list[Header] = field(default_factory=list, compare=False)

    def __post_init__(self) -> None:
        self.wire.extend(merge([(b"content-type", self.media_type.encode()),
                                (b"content-length", str(len(self.body)).encode()),
                                *self.headers], SECURITY))

    @classmethod
    def build(cls, body: bytes, media_type: str, headers: list[Header], *,
              version: str | None, follows_latest: bool, immutable: bool,
              etag: str | None = None) -> Prepared:
        tag = etag or hashlib.sha256(body).hexdigest()[:32]
        cache = (b"public, max-age=31536000, immutable" if immutable
                 else b"public, no-cache")
        all_headers = (*headers, (b"etag", f'"{tag}"'.encode()), (b"cache-control", cache))
        return cls(200, media_type, body, tuple(all_headers), version, follows_latest, tag)

    def response(self) -> Response:
        """The same bytes as a Starlette response (used on the route's path)."""
        out = Response(self.body, status_code=self.status, media_type=self.media_type)
        for name, value in self.headers:
            out.headers.append(name.decode("latin-1"), value.decode("latin-1"))
        return out


class ResponseCache:
    """A byte-bounded LRU of prepared responses; safe to use from threads and the loop."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Key, Prepared] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Key) -> Prepared | None:
        entry = self._entries.get(key)
        if entry is not None:
            try:  # noqa: SIM105 (the hot path: cheaper than contextlib.suppress)
                self._entries.move_to_end(key)
            except KeyError:  # evicted by another thread in between
                pass
        return entry

    def put(self, key: Key, entry: Prepared) -> None:
        size = len(entry.body) + 256
        if size > self.max_bytes // 4:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body) + 256
            self._entries[key] = entry
            self._bytes += size
            while self._bytes > self.max_bytes and self._entries:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.body) + 256

    def __len__(self) -> int:
        return len(self._entries)


def answer(scope_path: str, query_string: bytes, if_none_match: str | None,
           cache: ResponseCache, entry: Prepared) -> Response:
    """Keep ``entry`` for the edge to send next time, and answer this request with it."""
    cache.put((scope_path, query_string), entry)
    if if_none_match and entry.etag and (f'"{entry.etag}"' in if_none_match
                                         or if_none_match.strip() == "*"):
        out = Response(status_code=304)
        for name, value in entry.headers:
            if name in (b"etag", b"cache-control"):
                out.headers.append(name.decode(), value.decode())
        return out
    return entry.response()

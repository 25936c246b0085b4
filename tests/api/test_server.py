"""Through a real uvicorn server (uvloop, httptools) on 127.0.0.1 and a free port."""

from __future__ import annotations

import select
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa

from api.app import create_app
from schemas.tables import uploads
from tests.api.support import FRENCH, add_partner, case_count, context, live_server, partner_config
from tests.api.support import raw_files as stored


def _chunked_upload(base: str, key: str, total: int) -> tuple[bytes, int]:
    """Stream ``total`` bytes as a chunked raw-body upload; stop as soon as the server
    answers. Returns the start of the answer and how many bytes were sent."""
    host, port = urlsplit(base).hostname, urlsplit(base).port
    assert host and port
    sock = socket.create_connection((host, port), timeout=10)
    sent = 0
    try:
        sock.sendall(b"POST /api/v1/uploads?filename=big.csv HTTP/1.1\r\nHost: x\r\n"
                     b"Authorization: Bearer " + key.encode() + b"\r\n"
                     b"Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"a;b\n" * 16_384
        while sent < total:
            ready, _, _ = select.select([sock], [], [], 0)
            if ready:
                break
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        sock.settimeout(10)
        answer = sock.recv(65536)
    finally:
        sock.close()
    return answer, sent


def test_partner_and_public_api_over_real_http(engine: sa.Engine, tmp_path: Path,
                                               releases_dir: Path) -> None:
    a = add_partner(context(engine, tmp_path / "home"), "ong-a")
    config = partner_config(engine, tmp_path, releases_dir=releases_dir)
    with live_server(create_app(config)) as base, httpx.Client(base_url=base) as http:
        table = http.get("/api/v1/releases/latest/tables/victims_by_year_country",
                         params={"country_of_exploitation": "LBY", "_size": 5})
        assert table.status_code == 200 and len(table.json()["rows"]) == 5
        assert table.headers["x-content-type-options"] == "nosniff"

        r = http.post("/api/v1/uploads", headers=a.auth,
                      files={"file": ("registre été.csv", FRENCH, "text/csv")})
        assert r.status_code == 202, r.text
        assert r.json()["filename"] == "registre été.csv"
        deadline = time.monotonic() + 30
        while (body := http.get(r.json()["url"], headers=a.auth).json())["status"] == "parsed":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert body["status"] == "harmonised" and case_count(engine, body["id"]) == 3

        # A body declared larger than the cap is refused before it is read.
        big = http.post("/api/v1/uploads?filename=x.csv", headers={
            **a.auth, "Content-Type": "text/csv"}, content=b"x" * (3 * 1024 * 1024))
        assert big.status_code == 413 and big.json()["type"].endswith("/file-too-large")

        # A chunked body (no length) is cut off just past the cap: 20 MB never arrive.
        answer, sent = _chunked_upload(base, a.key, 20 * 1024 * 1024)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert sent < 8 * 1024 * 1024
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(uploads)).scalar_one() == 1
        assert len(stored(tmp_path / "raw")) == 1  # only the harmonised upload's bytes

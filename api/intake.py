"""Receiving an upload over HTTP: stream the body into the raw store under a hard size cap,
then check it is a readable table before anything is recorded.

The body is never held in memory: multipart parts or the raw body go chunk by chunk to
``RawStore.put_stream``, which stops at the cap (a 413, and nothing kept). A file that is
not a readable table is a 422 with the reason, and leaves neither a record nor its bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING
from urllib.parse import unquote

import anyio
import anyio.from_thread
import anyio.to_thread
import sqlalchemy as sa
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from api.worker import drop_raw_if_unused
from harmonize import registry
from ingest import uploads
from ingest.errors import FileTooLarge
from ingest.raw_store import RawStore
from schemas.errors import InputRejected, UsageError

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FILE_FIELD = b"file"
# What a multipart envelope may add to the file's own bytes before the cap is applied early.
ENVELOPE_SLACK = 64 * 1024
_FIELD_LIMIT = 1024


class MissingFile(UsageError):
    code = "missing-file"
    title = "No file in the request"


class MalformedBody(UsageError):
    code = "malformed-body"
    title = "Malformed request body"


class Interrupted(UsageError):
    code = "upload-interrupted"
    title = "Upload interrupted"


def too_large(max_bytes: int) -> FileTooLarge:
    size = f"{max_bytes / 1_048_576:,.0f} MB" if max_bytes >= 1_048_576 else f"{max_bytes:,} bytes"
    return FileTooLarge(f"The upload is larger than the limit of {size}.",
                        hint="split the extract into several files, or compress it as .xlsx")


class MultipartFile:
    """Pull the bytes of the ``file`` field out of a multipart body, chunk by chunk."""

    def __init__(self, boundary: bytes) -> None:
        callbacks: MultipartCallbacks = {
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
        }
        self.parser = MultipartParser(boundary, callbacks)
        self.filename: str | None = None
        self.found = False
        self._in_file = False
        self._field = bytearray()
        self._value = bytearray()
        self._disposition = b""
        self._out: list[bytes] = []

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _on_header_end(self) -> None:
        if bytes(self._field).lower() == b"content-disposition":
            self._disposition = bytes(self._value)
        self._field.clear()
        self._value.clear()

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._disposition = b""
        if options.get(b"name") == FILE_FIELD and not self.found:
            self.found = self._in_file = True
            raw = options.get(b"filename", b"")
            self.filename = raw.decode("utf-8", "replace") or None

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._out.append(bytes(data[start:end]))

    def _on_part_end(self) -> None:
        self._in_file = False

    def feed(self, chunk: bytes) -> list[bytes]:
        try:
            self.parser.write(chunk)
        except MultipartParseError as err:
            raise MalformedBody("the multipart body could not be parsed",
                                hint="send the file as multipart/form-data in field 'file'"
                                ) from err
        out, self._out = self._out, []
        return out

    def finish(self) -> None:
        try:
            self.parser.finalize()
        except MultipartParseError as err:
            raise MalformedBody("the multipart body ended early") from err


async def stream_to_store(store: RawStore, chunks: AsyncIterator[bytes],
                          max_bytes: int) -> tuple[str, int]:
    """Write an async stream through ``RawStore.put_stream`` (in a thread), chunk by chunk.

    At most a few chunks are in memory at once; past ``max_bytes`` the store raises
    FileTooLarge and the rest of the body is never read.
    """
    send, receive = anyio.create_memory_object_stream[bytes | Exception](max_buffer_size=4)
    complete = False

    def sync_chunks() -> Iterator[bytes]:
        while True:
            try:
                item = anyio.from_thread.run(receive.receive)
            except anyio.EndOfStream:
                if not complete:  # the request was cancelled half-way: keep nothing
                    raise Interrupted("the upload stopped before the end of the file") from None
                return
            if isinstance(item, Exception):
                raise item
            yield item

    async def produce() -> None:
        nonlocal complete
        async with send:
            try:
                async for chunk in chunks:
                    if chunk:
                        await send.send(chunk)
            except Exception as err:
                await send.send(err)
                return
            complete = True

    outcome: tuple[str, int] | Exception
    async with anyio.create_task_group() as tg:
        tg.start_soon(produce)
        try:
            outcome = await anyio.to_thread.run_sync(store.put_stream, sync_chunks(), max_bytes)
        except Exception as err:
            outcome = err
        tg.cancel_scope.cancel()
    async with receive:
        pass
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        raise Interrupted("the connection closed before the end of the upload") from None


async def receive_body(request: Request, store: RawStore, max_bytes: int,
                       filename: str | None) -> tuple[str, int, str | None]:
    """Stream the request's file into the raw store.

    Returns (sha256, size, file name); the name is None when a multipart body had no
    ``file`` field (its other bytes were stored and are for the caller to drop).
    """
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + ENVELOPE_SLACK:
        raise too_large(max_bytes)  # refused before a byte of the body is read
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type == b"multipart/form-data":
        boundary = options.get(b"boundary")
        if not boundary:
            raise MalformedBody("multipart/form-data without a boundary")
        parts = MultipartFile(boundary)

        async def file_chunks() -> AsyncIterator[bytes]:
            async for chunk in _body(request):
                for piece in parts.feed(chunk):
                    yield piece
            parts.finish()

        sha, size = await _stream(store, file_chunks(), max_bytes)
        if not parts.found:
            return sha, size, None
        return sha, size, parts.filename or filename or "upload"
    sha, size = await _stream(store, _body(request), max_bytes)
    return sha, size, filename or "upload"


async def _stream(store: RawStore, chunks: AsyncIterator[bytes], max_bytes: int
                  ) -> tuple[str, int]:
    try:
        return await stream_to_store(store, chunks, max_bytes)
    except FileTooLarge:
        raise too_large(max_bytes) from None


def record(engine: sa.Engine, store: RawStore, *, org_id: int, filename: str, sha: str,
           max_bytes: int) -> uploads.Received:
    """Check the stored bytes are a readable table and record the upload (``parsed``).

    A file that cannot be read raises InputRejected and leaves nothing: no record, and its
    bytes are removed unless an earlier upload already holds the same ones.
    """
    try:
        data = store.read(sha)
        with engine.connect() as conn:
            mapping = registry.current(conn, org_id)
        return uploads.receive(engine, store, org_id=org_id, filename=filename, data=data,
                               max_bytes=max_bytes, sheet=mapping.sheet if mapping else None)
    except InputRejected:
        drop_raw_if_unused(engine, store, sha)
        raise


def filename_from(header: str | None, query: str | None) -> str | None:
    """The file name of a raw-body upload: ``?filename=`` or an ``X-Filename`` header."""
    raw = query or (unquote(header) if header else None)
    return uploads.safe_filename(raw) if raw else None

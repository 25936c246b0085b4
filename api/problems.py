"""The one mapping of the error hierarchy to RFC 9457 problem+json responses.

Every error the app sends goes through here: a stable ``type`` per error code, a title, the
status, and a detail written for the caller. Nothing here quotes a cell value or a stack
trace; unexpected errors are logged by type name only.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas import errors

log = logging.getLogger("ctcollab.api")
PROBLEM_BASE = "https://ctcollab.org/problems/"
MEDIA_TYPE = "application/problem+json"

# Most specific first: the first class an error is an instance of decides its status.
STATUS: tuple[tuple[type[errors.CtcollabError], int], ...] = (
    (errors.PayloadTooLarge, 413),
    (errors.NotFound, 404),
    (errors.Unauthorized, 401),
    (errors.Conflict, 409),
    (errors.BudgetExceeded, 409),
    (errors.InputRejected, 422),
    (errors.UsageError, 400),
    (errors.UserError, 400),
)
# Location members an ingest error may carry (names of files, sheets, columns; row numbers).
_LOCATION = ("filename", "sheet", "row", "column")


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="Stable URI of the kind of problem; the last segment is "
                      "its code.")
    title: str
    status: int
    detail: str | None = None
    hint: str | None = Field(None, description="What to do about it.")


class InvalidFilter(errors.UsageError):
    code = "invalid-filter"
    title = "Invalid filter"


class InvalidCursor(errors.UsageError):
    code = "invalid-cursor"
    title = "Invalid or expired cursor"


class NotConfigured(errors.CtcollabError):
    code = "not-configured"
    title = "Not available on this server"


class StillProcessing(errors.Conflict):
    code = "still-processing"
    title = "Upload is being processed"


def status_of(err: errors.CtcollabError) -> int:
    if isinstance(err, NotConfigured):
        return 503
    for cls, status in STATUS:
        if isinstance(err, cls):
            return status
    return 500


def problem_body(status: int, code: str, title: str, detail: str | None = None,
                 **extra: object) -> bytes:
    body: dict[str, object] = {"type": PROBLEM_BASE + code, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v is not None})
    return orjson.dumps(body)


def problem(status: int, code: str, title: str, detail: str | None = None, *,
            headers: dict[str, str] | None = None, **extra: object) -> Response:
    return Response(problem_body(status, code, title, detail, **extra), status_code=status,
                    media_type=MEDIA_TYPE, headers=headers)


def from_error(err: errors.CtcollabError) -> Response:
    """The response for one of our errors (the only place statuses are chosen)."""
    status = status_of(err)
    if status == 500:
        log.error("internal error %s", err.code)
        return problem(500, "internal", "Internal error",
                       "This is a bug on our side; nothing you sent is at fault.")
    extra = {k: getattr(err, k, None) for k in _LOCATION}
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="ctcollab partner API"'
    if isinstance(err, StillProcessing):
        headers["Retry-After"] = "5"
    return problem(status, err.code, err.title, err.message, hint=err.hint, headers=headers,
                   **extra)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the problem responses a route may send."""
    titles = {400: "Invalid request", 401: "Missing or invalid API key", 404: "Not found",
              409: "Conflict", 413: "Upload too large", 422: "Input rejected",
              429: "Too many requests", 503: "Not available on this server"}
    schema = {"$ref": "#/components/schemas/Problem"}
    return {s: {"description": titles.get(s, "Problem"),
                "content": {MEDIA_TYPE: {"schema": schema}}} for s in statuses}


#: problems sent without an exception class of their own: (code, title, status)
PLAIN = (("not-found", "Not found", 404), ("method-not-allowed", "Method not allowed", 405),
         ("invalid-request", "Invalid request", 400), ("rate-limited", "Too many requests", 429),
         ("internal", "Internal error", 500))


def _subclasses(cls: type[errors.CtcollabError]) -> list[type[errors.CtcollabError]]:
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_subclasses(sub))
    return out


def problem_types() -> list[tuple[str, str, int]]:
    """Every problem type the API can send, for its reference page (generated, not typed)."""
    found: dict[str, tuple[str, str, int]] = {c: (c, t, s) for c, t, s in PLAIN}
    for cls in _subclasses(errors.CtcollabError):
        status = status_of(cls.__new__(cls))
        if status != 500 and cls.code not in found:
            found[cls.code] = (cls.code, cls.title, status)
    return sorted(found.values(), key=lambda p: (p[2], p[0]))


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.CtcollabError)
    async def _ctcollab(_request: Request, err: errors.CtcollabError) -> Response:
        return from_error(err)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, err: StarletteHTTPException) -> Response:
        code = {404: "not-found", 405: "method-not-allowed"}.get(err.status_code, "http-error")
        title = {404: "Not found", 405: "Method not allowed"}.get(err.status_code, "HTTP error")
        return problem(err.status_code, code, title, headers=dict(err.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, err: RequestValidationError) -> Response:
        # Name the parameter and what is wrong with it, never echo its value.
        issues = [{"location": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]}
                  for e in err.errors()]
        return problem(400, "invalid-request", "Invalid request",
                       "A parameter is missing or malformed; see errors.", errors=issues)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, err: Exception) -> Response:
        log.error("unexpected %s", type(err).__name__)
        return problem(500, "internal", "Internal error",
                       "This is a bug on our side; nothing you sent is at fault.")

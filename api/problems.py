"""The one mapping of the error hierarchy to RFC 9457 problem+json responses."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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


def status_of(err: errors.CtcollabError) -> int:
    for cls, status in STATUS:
        if isinstance(err, cls):
            return status
    return 500


def problem(status: int, code: str, title: str, detail: str | None = None,
            **extra: object) -> JSONResponse:
    body: dict[str, object] = {"type": PROBLEM_BASE + code, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.CtcollabError)
    async def _ctcollab(_request: Request, err: errors.CtcollabError) -> JSONResponse:
        status = status_of(err)
        if status == 500:
            log.error("internal error %s", err.code)
            return problem(500, "internal", "Internal error")
        return problem(status, err.code, err.title, str(err))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, err: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "method-not-allowed"}.get(err.status_code, "http-error")
        return problem(err.status_code, code, str(err.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, err: RequestValidationError) -> JSONResponse:
        # Name the parameter, never echo its value.
        issues = [{"location": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]}
                  for e in err.errors()]
        return problem(400, "invalid-request", "Invalid request", errors=issues)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, err: Exception) -> JSONResponse:
        log.error("unexpected %s", type(err).__name__)
        return problem(500, "internal", "Internal error")

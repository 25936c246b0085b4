"""The partner upload API: send an extract, follow it, read its report, withdraw it.

The organisation always comes from the API key; another organisation's upload is simply not
found, on every route.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import anyio.to_thread
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from api import intake, problems
from api.deps import Config, CurrentOrg, Engine, Raw, Worker, strict_query
from api.models import UploadList, UploadOut, Withdrawal
from api.worker import drop_raw_if_unused
from ingest import uploads
from schemas.tables import uploads as uploads_table

router = APIRouter(prefix="/api/v1/uploads", tags=["partner"],
                   dependencies=[Depends(strict_query)])
UploadId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The upload's id")]
Status = Literal["received", "parsed", "harmonised", "rejected", "failed", "withdrawn"]

REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": "The extract (CSV, Excel, OpenDocument, JSON or Parquet): a multipart form "
                   "with the file in field 'file', or the file itself as the body (name it "
                   "with ?filename= or an X-Filename header).",
    "content": {
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}}}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
}


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite keeps no offset


def to_out(upload: uploads.Upload) -> UploadOut:
    return UploadOut(
        id=upload.id, filename=upload.filename, size=upload.size, sha256=upload.sha256,
        format=upload.format, encoding=upload.encoding, status=upload.status,  # type: ignore[arg-type]
        mapping_version=upload.mapping_version, rows_read=upload.rows_read,
        rows_accepted=upload.rows_accepted, rows_quarantined=upload.rows_quarantined,
        error_code=upload.error_code, report=upload.report, created_at=_utc(upload.created_at),
        updated_at=_utc(upload.updated_at), url=f"/api/v1/uploads/{upload.id}")


def _json(model: UploadOut, status: int) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=status,
                        headers={"Location": model.url})


@router.post(
    "", status_code=202, response_model=UploadOut,
    responses={200: {"model": UploadOut,
                     "description": "The same file was already uploaded: that upload"},
               **problems.responses(400, 401, 413, 422, 429, 503)},
    openapi_extra={"requestBody": REQUEST_BODY},
    summary="Upload an extract; it is harmonised in the background")
async def create_upload(
    request: Request, org: CurrentOrg, engine: Engine, raw: Raw, worker: Worker,
    config: Config,
    filename: Annotated[str | None, Query(max_length=255,
                                          description="File name of a raw-body upload")] = None,
    x_filename: Annotated[str | None, Header(max_length=1024,
                                             description="File name (URL-encoded)")] = None,
) -> JSONResponse:
    name = intake.filename_from(x_filename, filename)
    sha, _size, found = await intake.receive_body(request, raw, config.max_upload_bytes, name)
    if found is None:
        await anyio.to_thread.run_sync(drop_raw_if_unused, engine, raw, sha)
        raise intake.MissingFile("the request has no field named 'file'",
                                 hint="send the extract as multipart/form-data, field 'file'")
    received = await anyio.to_thread.run_sync(
        lambda: intake.record(engine, raw, org_id=org.id, filename=found, sha=sha,
                              max_bytes=config.max_upload_bytes))
    if received.duplicate:
        return _json(to_out(received.upload), 200)
    worker.submit(received.upload.id)
    return _json(to_out(received.upload), 202)


@router.get("", response_model=UploadList, responses=problems.responses(400, 401, 429, 503),
            summary="This organisation's uploads, newest first")
def list_uploads(
    org: CurrentOrg, engine: Engine,
    status: Annotated[Status | None, Query(description="Only uploads in this status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> UploadList:
    query = (sa.select(uploads_table).where(uploads_table.c.org_id == org.id)
             .order_by(uploads_table.c.id.desc()).limit(limit))
    if status is not None:
        query = query.where(uploads_table.c.status == status)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return UploadList(uploads=[to_out(uploads.Upload.from_row(r)) for r in rows])


@router.get("/{upload_id}", response_model=UploadOut,
            responses=problems.responses(400, 401, 404, 429, 503),
            summary="One upload: its status and, once processed, its report")
def get_upload(upload_id: UploadId, org: CurrentOrg, engine: Engine) -> UploadOut:
    with engine.connect() as conn:
        return to_out(uploads.get(conn, org.id, upload_id))


@router.delete("/{upload_id}", response_model=Withdrawal,
               responses=problems.responses(400, 401, 404, 409, 429, 503),
               summary="Withdraw an upload: its cases leave the next release")
def withdraw_upload(upload_id: UploadId, org: CurrentOrg, worker: Worker) -> Withdrawal:
    upload, removed = worker.withdraw(org.id, upload_id)
    return Withdrawal(upload=to_out(upload), cases_removed=removed)

"""Response models: what the API promises (internal fields cannot leak through them).

Within /api/v1 keys are added, never removed or retyped. The row model of published tables
is generated from the common schema (``schemas/``), never retyped here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from schemas.definition import SCHEMA


class Health(BaseModel):
    status: str
    releases: int


class ReleaseSummary(BaseModel):
    version: str
    title: str
    created: str
    licence: str
    citation: str
    url: str


class ReleaseList(BaseModel):
    releases: list[ReleaseSummary]
    latest: str | None


class ResourceSummary(BaseModel):
    name: str
    title: str
    path: str
    format: str
    privacy: dict[str, Any]
    download: str
    table: str | None = Field(None, description="URL of the table query API, for tables")


class ReleaseDetail(BaseModel):
    version: str
    title: str
    created: str
    licence: str
    licence_url: str | None = None
    citation: str
    resources: list[ResourceSummary]
    datapackage: str = Field(description="URL of the release's datapackage.json")
    tables: str = Field(description="URL of the list of the release's tables")


class ReleaseRef(BaseModel):
    """Which release a response comes from, under which licence, and how to cite it."""

    version: str
    title: str
    created: str
    licence: str
    licence_title: str | None = None
    licence_url: str | None = None
    citation: str
    url: str
    datapackage: str


class ColumnInfo(BaseModel):
    name: str
    title: str
    description: str
    type: str
    filter: bool = Field(description="Whether the column can be used as a filter")


class TableInfo(BaseModel):
    name: str
    title: str
    url: str
    rows: int
    columns: list[ColumnInfo]
    dimensions: list[str]
    privacy: dict[str, Any] = Field(description="What protects the table (method, parameters)")
    downloads: dict[str, str]


class TableList(BaseModel):
    release: ReleaseRef
    tables: list[TableInfo]


def _row_field(kind: str) -> Any:
    return {"year": int | None, "flag": int | None}.get(kind, str | None)


_ROW_FIELDS: dict[str, Any] = {
    f.name: (_row_field(f.type), Field(None, title=f.title, description=f.description))
    for f in SCHEMA.case_fields if f.type in ("year", "category", "country", "flag")
}
_ROW_FIELDS.update({
    "count": (int | None, Field(None, description="Noisy count (empty when flag is c)")),
    "lower_95": (int | None, Field(None, description="Lower bound of the 95% interval")),
    "upper_95": (int | None, Field(None, description="Upper bound of the 95% interval")),
    "flag": (Literal["c", "u"] | None,
             Field(None, description="c: below the threshold, withheld; u: low reliability")),
})
#: One row of a published table: its dimension columns, then count, interval and flag.
#: Microdata resources may carry other columns, hence extra keys are allowed.
TableRow: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "TableRow", __config__=ConfigDict(extra="allow"), **_ROW_FIELDS)


class FacetValue(BaseModel):
    value: str | None
    rows: int
    published_rows: int | None = Field(None, description="Rows whose count is not withheld")


class TablePage(BaseModel):
    release: ReleaseRef
    table: TableInfo
    filters: dict[str, list[str]]
    total: int = Field(description="Rows matching the filters")
    offset: int
    size: int
    rows: list[TableRow]  # type: ignore[valid-type]
    facets: dict[str, list[FacetValue]]
    next: str | None = Field(None, description="Opaque cursor of the next page (as _next)")
    next_url: str | None = None


class Organisation(BaseModel):
    slug: str
    name: str


class UploadOut(BaseModel):
    """One upload and what became of it; seen only by the organisation that sent it."""

    id: int
    filename: str
    size: int
    sha256: str
    format: str | None
    encoding: str | None
    status: Literal["received", "parsed", "harmonised", "rejected", "failed", "withdrawn"]
    mapping_version: str | None
    rows_read: int | None
    rows_accepted: int | None
    rows_quarantined: int | None
    error_code: str | None
    report: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    url: str


class UploadList(BaseModel):
    uploads: list[UploadOut]


class Withdrawal(BaseModel):
    upload: UploadOut
    cases_removed: int

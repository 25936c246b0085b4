"""Public response models (what the API promises; internal fields cannot leak through them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: str
    releases: int


class ReleaseSummary(BaseModel):
    version: str
    title: str
    created: str
    licence: str
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


class ReleaseDetail(BaseModel):
    version: str
    title: str
    created: str
    licence: str
    citation: str
    resources: list[ResourceSummary]
    datapackage: str = Field(description="URL of the release's datapackage.json")

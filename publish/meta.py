"""Release metadata: what a release records about what produced it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

LICENCES = {
    "CC-BY-4.0": ("Creative Commons Attribution 4.0",
                  "https://creativecommons.org/licenses/by/4.0/"),
}


@dataclass(frozen=True)
class ReleaseMeta:
    """Everything a release records about what produced it."""

    version: str
    title: str
    created: datetime
    snapshot_hash: str
    case_count: int
    licence: str
    contributors: tuple[str, ...]
    mapping_versions: tuple[str, ...]
    spec: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)



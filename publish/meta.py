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
    """Everything a release records about what produced it; nothing exact about the data.

    ``release_id`` is random (never derived from the data: a content hash would tell anyone
    whether the data changed); ``contributors`` are the partners that agreed to be named;
    ``privacy_ledger`` is the public privacy ledger (see the codebook), ``{}`` when none was
    recorded.
    """

    version: str
    title: str
    created: datetime
    release_id: str
    licence: str
    contributors: tuple[str, ...]
    spec: dict[str, Any]
    privacy_ledger: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

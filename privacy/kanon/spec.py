"""The k-anonymity plan: k, quasi-identifiers, suppression limit, loss metric, published columns."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.definition import SCHEMA

# Field types a generalisation hierarchy can be derived for (see hierarchies.hierarchy_for).
GENERALISABLE_TYPES = ("year", "category", "country", "flag")
# Only CTDC case variables may be published: internal fields (case_key, org_id, ...) never are.
CASE_FIELDS = tuple(f.name for f in SCHEMA.case_fields)


def _unique(names: tuple[str, ...], what: str) -> tuple[str, ...]:
    if len(set(names)) != len(names):
        raise ValueError(f"a {what} is listed twice")
    return names


class KAnonSpec(BaseModel):
    """What the k-anonymised microdata guarantees and contains. Frozen: a plan, not a state."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    k: int = Field(default=11, ge=2,
                   description="minimum equivalence class size (CTDC publishes k=11)")
    quasi_identifiers: tuple[str, ...] = Field(
        default=SCHEMA.quasi_identifiers, min_length=1,
        description="fields an adversary may know and link on; generalised until k is reached")
    max_suppression: float = Field(
        default=0.05, ge=0, lt=1,
        description="largest share of records that may be suppressed (removed)")
    sensitive: tuple[str, ...] = Field(
        default=("is_forced_labour", "is_sexual_exploit"),
        description="fields whose l-diversity is reported (not enforced)")
    loss_metric: Literal["ncp", "discernibility"] = "ncp"
    columns: tuple[str, ...] | None = Field(
        default=None, description="other case fields to publish; default: every stored case field")
    year_max: int | None = Field(
        default=None, ge=2000, le=2100,
        description="last year of the public year domain (default: the current year)")

    @field_validator("quasi_identifiers")
    @classmethod
    def _generalisable(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for name in names:
            if name not in CASE_FIELDS:
                raise ValueError(f"{name!r} is not a case field of the common schema")
            if SCHEMA.field(name).type not in GENERALISABLE_TYPES:
                raise ValueError(f"{name!r} has no generalisation hierarchy")
        return _unique(names, "quasi-identifier")

    @field_validator("sensitive")
    @classmethod
    def _sensitive_fields(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for name in names:
            if name not in CASE_FIELDS:
                raise ValueError(f"{name!r} is not a case field of the common schema")
        return _unique(names, "sensitive attribute")

    @field_validator("columns")
    @classmethod
    def _published_fields(cls, names: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if names is None:
            return None
        for name in names:
            if name not in CASE_FIELDS:
                raise ValueError(f"{name!r} is not a case field of the common schema")
        return _unique(names, "column")

    @model_validator(mode="after")
    def _consistent(self) -> KAnonSpec:
        qis = set(self.quasi_identifiers)
        for name in self.sensitive:
            if name in qis:
                raise ValueError(f"{name!r} cannot be both quasi-identifier and sensitive")
        for name in self.columns or ():
            if name in qis:
                raise ValueError(f"{name!r} is a quasi-identifier: it is always published")
        # l-diversity is measured on the published frame, so a sensitive field must be in it.
        if self.columns is not None:
            for name in self.sensitive:
                if name not in self.columns:
                    raise ValueError(f"sensitive attribute {name!r} is not a published column")
        return self

    @property
    def published_fields(self) -> tuple[str, ...]:
        """Every published case field (quasi-identifiers included), in the schema's order."""
        wanted = set(self.quasi_identifiers) | set(
            CASE_FIELDS if self.columns is None else self.columns)
        return tuple(name for name in CASE_FIELDS if name in wanted)

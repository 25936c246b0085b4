"""The public privacy ledger a release states: its shape, checked, and its keys documented."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from schemas.errors import InternalError

# Where the ledger stands in datapackage.json: pages trace each figure to a key below this.
KEY = "ctcollab.privacy_ledger"


class _Part(BaseModel):
    # Frozen and closed: a key the codebook does not document can never reach a release.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _text_of_time(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


class Budget(_Part):
    """A privacy loss, as zCDP rho and as epsilon at the cap's delta."""

    rho: float = Field(ge=0, description="zCDP rho.")
    epsilon: float | None = Field(ge=0, description="the same loss as epsilon, at the cap's "
                                  "delta (null: no delta of the cap is left to state it at).")
    approx_epsilon: float | None = Field(None, ge=0, description="present when some of the "
                                         "loss is (epsilon, delta)-DP only (pac-synth): that "
                                         "part's epsilon, composed by basic composition and "
                                         "included in epsilon.")
    approx_delta: float | None = Field(None, ge=0, description="with approx_epsilon: that "
                                       "part's delta, taken from the cap's delta.")


class Cap(_Part):
    """The lifetime cap of every cohort."""

    rho: float = Field(gt=0, description="the most zCDP rho any cohort may ever spend.")
    epsilon: float = Field(gt=0, description="the most epsilon (at delta) any cohort may ever "
                           "spend, every product composed.")
    delta: float = Field(gt=0, lt=1, description="the delta at which every epsilon of the "
                         "ledger is stated.")
    set_at: str | None = Field(description="when this cap was set (ISO 8601, UTC).")
    reason: str = Field("", description="why the cap was set or changed, as recorded by the "
                        "command that set it.")

    _set_at = field_validator("set_at", mode="before")(_text_of_time)


class ProductSpend(_Part):
    """What one product of this release charged."""

    product: str = Field(description="the kind of product: dp-table, dp-synthetic, ...")
    item: str = Field(description="the product's name (a table, the synthesizer's part).")
    cohorts: list[int] = Field(description="the cohorts it measured; each was charged rho.")
    rho: float | None = Field(ge=0, description="what each of these cohorts was charged for "
                              "it (cohorts are disjoint: this is also each person's loss from "
                              "it); null for an (epsilon, delta)-only product.")
    epsilon: float | None = Field(ge=0, description="the same charge as epsilon at the cap's "
                                  "delta.")
    revision: bool = Field(description="true when it re-measures a closed cohort (late "
                           "cases): a revision, paid from that cohort's remaining budget.")


class ThisRelease(_Part):
    """What this release spent."""

    version: str = Field(description="this release's version.")
    products: list[ProductSpend] = Field(description="every product that spent budget.")
    total: Budget = Field(description="the release's total: the most any one cohort was "
                          "charged by this release.")


class ReleaseTotal(_Part):
    """One release, this one included, and what it spent."""

    version: str = Field(description="the release's version.")
    created: str | None = Field(description="when it was made (ISO 8601, UTC).")
    total: Budget = Field(description="its total: the most any one cohort was charged by it.")
    cohorts: list[int] = Field(description="the cohorts it charged.")

    _created = field_validator("created", mode="before")(_text_of_time)


class CohortBudget(_Part):
    """One cohort's lifetime account."""

    cohort: int = Field(description="the cohort: the year in which the collaborative first "
                        "registered its people (a person's cohort never changes).")
    status: Literal["open", "closed"] = Field(description="open: its figures are provisional "
                                              "and each measurement is charged; closed: "
                                              "measured once, carried unchanged, at no cost.")
    closed_at: str | None = Field(None, description="when it was closed (ISO 8601, UTC); null "
                                  "while open.")
    frozen_in: str | None = Field(None, description="the release in which its final figures "
                                  "were measured; null while open.")
    spent: Budget = Field(description="its lifetime spend, every release so far composed.")
    remaining: Budget = Field(description="what is left of the cap for it.")
    measured_in_this_release: bool = Field(description="whether this release charged it.")
    kanon_published: bool = Field(description="true when this release publishes k-anonymised "
                                  "case-level data of it: k-anonymity, not differential "
                                  "privacy, is then its weakest protection.")

    _closed_at = field_validator("closed_at", mode="before")(_text_of_time)


class PrivacyLedger(_Part):
    """The public privacy ledger of a release."""

    unit: str = Field(description="the unit of privacy (one person).")
    accounting: str = Field(description="how losses are accounted and stated.")
    cap: Cap = Field(description="the lifetime cap of every cohort now in force.")
    cap_history: list[Cap] = Field(description="every recorded setting of the cap, "
                                         "oldest first.")
    release: ThisRelease = Field(description="what this release spent.")
    releases: list[ReleaseTotal] = Field(description="every release so far, this one included, "
                                         "oldest first.")
    cohorts: list[CohortBudget] = Field(description="every cohort's lifetime account.")


def public(ledger: dict[str, Any]) -> dict[str, Any]:
    """The ledger as datapackage.json states it: checked against the documented shape (``{}``:
    none recorded). A ledger off that shape is a bug of the caller, not the user's mistake."""
    if not ledger:
        return {}
    try:
        checked = PrivacyLedger.model_validate(ledger)
    except ValidationError as err:
        raise InternalError("the release's privacy ledger is not in the documented shape "
                            f"({err.error_count()} problems); this is a bug") from err
    # Only the keys given: the optional ones (approx_epsilon, ...) stay out when not stated.
    return checked.model_dump(mode="json", exclude_unset=True)


def weakest_kanon(ledger: dict[str, Any]) -> list[int]:
    """The cohorts of which this release publishes k-anonymised microdata."""
    return [c["cohort"] for c in ledger.get("cohorts", []) if c.get("kanon_published")]


def documented_keys(model: type[BaseModel] = PrivacyLedger,
                    prefix: str = "") -> list[tuple[str, str]]:
    """Every key of the ledger (``release.products[].rho``) and what it means, in order: the
    codebook's reference table, generated from the model so that it cannot drift."""
    out: list[tuple[str, str]] = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        out.append((key, info.description or ""))
        inner = info.annotation
        args = getattr(inner, "__args__", ())
        if args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            out += documented_keys(args[0], f"{key}[].")
        elif isinstance(inner, type) and issubclass(inner, BaseModel):
            out += documented_keys(inner, f"{key}.")
    return out

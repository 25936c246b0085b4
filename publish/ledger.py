"""The public privacy ledger as a release states it: checked, and its keys documented."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from privacy.public_ledger import PrivacyLedger, public

__all__ = ["KEY", "documented_keys", "public", "weakest_kanon"]

# Where the ledger stands in datapackage.json: pages trace each figure to a key below this.
KEY = "ctcollab.privacy_ledger"


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

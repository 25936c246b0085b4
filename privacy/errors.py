"""Errors raised by privacy (subclasses of the project hierarchy in schemas.errors)."""

from __future__ import annotations

from schemas.errors import BudgetExceeded, InputRejected, UsageError

__all__ = ["BudgetExceeded", "SeedRejected", "SpecInvalid"]


class SpecInvalid(InputRejected):
    """A release spec does not follow the spec schema or names unknown fields."""

    code = "spec-invalid"
    title = "Release spec invalid"


class SeedRejected(UsageError):
    """A release seed is too short or too regular to be kept secret (it unlocks the noise)."""

    code = "seed-rejected"
    title = "Release seed rejected"

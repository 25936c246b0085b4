"""Errors raised by privacy (subclasses of the project hierarchy in schemas.errors)."""

from __future__ import annotations

from schemas.errors import BudgetExceeded, InputRejected

__all__ = ["BudgetExceeded", "SpecInvalid"]


class SpecInvalid(InputRejected):
    """A release spec does not follow the spec schema or names unknown fields."""

    code = "spec-invalid"
    title = "Release spec invalid"

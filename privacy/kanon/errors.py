"""Errors of the k-anonymity product (subclasses of the project hierarchy in schemas.errors)."""

from __future__ import annotations

from schemas.errors import InternalError, PrivacyCheckFailed

__all__ = ["KAnonymityFailed", "KAnonymityInfeasible", "OutsideDomain"]


class KAnonymityFailed(PrivacyCheckFailed):
    """The frame that would be published is not k-anonymous; nothing may be written."""

    code = "k-anonymity-failed"
    title = "k-anonymity check failed"


class KAnonymityInfeasible(PrivacyCheckFailed):
    """No generalisation reaches k within the suppression limit (the snapshot is too small)."""

    code = "k-anonymity-infeasible"
    title = "k-anonymity cannot be reached"


class OutsideDomain(InternalError):
    """A quasi-identifier holds a value its hierarchy does not know: the snapshot is not
    in the internal form of the common schema, which is a bug upstream."""

    code = "kanon-outside-domain"
    title = "Value outside the generalisation hierarchy"

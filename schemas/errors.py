"""The project's one exception hierarchy; the CLI and the API each map it to their outputs once.

Messages are written for the uploading partner and never contain a cell value: they name
files, fields, rows and settings, and say what to do.
"""

from __future__ import annotations


class CtcollabError(Exception):
    """Base of every error ctcollab raises on purpose."""

    #: stable identifier, used as the problem+json ``type`` suffix and in reports
    code = "error"
    title = "Error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UserError(CtcollabError):
    """The caller's mistake: the message says what to fix."""

    code = "user-error"
    title = "Request could not be carried out"


class InputRejected(UserError):
    """An input file, mapping or spec was rejected; nothing was written."""

    code = "input-rejected"
    title = "Input rejected"


class UsageError(UserError):
    """A command or request was malformed (unknown option, missing argument)."""

    code = "usage"
    title = "Usage error"


class ConfigurationError(UsageError):
    """A setting has an invalid value; the message names the setting."""

    code = "configuration"
    title = "Invalid configuration"


class NotFound(UserError):
    code = "not-found"
    title = "Not found"


class Conflict(UserError):
    code = "conflict"
    title = "Conflict"


class Unauthorized(UserError):
    code = "unauthorized"
    title = "Missing or invalid API key"


class PayloadTooLarge(InputRejected):
    code = "payload-too-large"
    title = "Upload too large"


class BudgetExceeded(UserError):
    """A release would spend more privacy budget than the cap allows."""

    code = "budget-exceeded"
    title = "Privacy budget exceeded"


class PrivacyCheckFailed(CtcollabError):
    """A privacy product failed its own verification; nothing was published."""

    code = "privacy-check-failed"
    title = "Privacy check failed"


class InternalError(CtcollabError):
    """A bug: an invariant of ctcollab itself does not hold."""

    code = "internal"
    title = "Internal error"


class SchemaDefinitionError(InternalError):
    code = "schema-definition"
    title = "The common schema definition is invalid"

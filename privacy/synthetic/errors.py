"""Errors of the synthetic-data product (subclasses of the project hierarchy in schemas.errors)."""

from __future__ import annotations

from schemas.errors import ConfigurationError


class SynthesizerUnavailable(ConfigurationError):
    """The spec names a synthesizer whose package is not installed."""

    code = "synthesizer-unavailable"
    title = "Synthesizer not available"

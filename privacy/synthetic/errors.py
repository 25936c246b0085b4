"""Errors of the synthetic-data product (subclasses of the project hierarchy in schemas.errors)."""

from __future__ import annotations

from schemas.errors import ConfigurationError, InputRejected


class SynthesizerUnavailable(ConfigurationError):
    """The spec names a synthesizer whose package is not installed."""

    code = "synthesizer-unavailable"
    title = "Synthesizer not available"


class SynthesizerFailed(InputRejected):
    """The synthesizer gave up on this snapshot (e.g. pac-synth's noisy count went negative)."""

    code = "synthesizer-failed"
    title = "Synthesizer failed"

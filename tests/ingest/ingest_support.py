"""Helpers for the ingest tests: prove that an error leaks no cell value."""

from __future__ import annotations

import traceback

from ingest.errors import IngestRejected

#: planted in a cell of every rejected file; must never surface in what the error says
SENTINEL = "Aminata-Diallo-0612345678"


def assert_no_leak(err: BaseException, *values: str) -> None:
    """Neither the message nor the full traceback (as a log would print it) holds a value."""
    shown = [str(err), repr(err), "".join(traceback.format_exception(err))]
    if isinstance(err, IngestRejected):
        shown += [err.message, err.hint or "", str(err.column or ""), str(err.sheet or "")]
    for value in values or (SENTINEL,):
        for text in shown:
            assert value not in text

"""Progress of a long read, for whoever shows it (the CLI's progress bar): counts, never values.

Readers call `report(done, total)` now and then; nothing happens unless a caller is
listening through `reporting(...)`. The listener lives in a context variable, so a
listener set by one command or thread never hears another's upload.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

#: called with (done, total), in bytes of the file being read (an estimate while parsing)
Listener = Callable[[int, int], None]

#: files smaller than this are read in a second or two: no progress bar for them
BAR_MIN_BYTES = 8 * 1024 * 1024

_listener: ContextVar[Listener | None] = ContextVar("ingest_progress", default=None)


@contextlib.contextmanager
def reporting(listener: Listener) -> Iterator[None]:
    """Send the progress of every read inside the block to `listener`."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def report(done: int, total: int) -> None:
    listener = _listener.get()
    if listener is not None:
        listener(max(0, min(done, total)), total)


def listening() -> bool:
    """Whether anyone listens (so a reader can skip the work of measuring)."""
    return _listener.get() is not None

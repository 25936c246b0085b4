"""Publish tests reuse the pipeline fixtures."""

from tests.ctcollab.conftest import ctx, french_file, settings

__all__ = ["ctx", "french_file", "settings"]

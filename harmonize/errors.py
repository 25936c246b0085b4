"""Errors raised by harmonize (subclasses of the project hierarchy in schemas.errors)."""

from __future__ import annotations

from schemas.errors import InputRejected


class MappingInvalid(InputRejected):
    """A mapping file does not follow the mapping schema."""

    code = "mapping-invalid"
    title = "Mapping file invalid"


class NoMapping(InputRejected):
    """A file that no mapping covers: not HTCDS, and the organisation has no mapping."""

    code = "no-mapping"
    title = "No mapping for this file"


class MappingDoesNotFit(InputRejected):
    """A mapping names columns the uploaded file does not have."""

    code = "mapping-does-not-fit"
    title = "Mapping does not fit the file"

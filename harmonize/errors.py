"""Errors raised by harmonize (subclasses of the project hierarchy in schemas.errors)."""

from __future__ import annotations

from schemas.errors import InputRejected


class MappingInvalid(InputRejected):
    """A mapping file does not follow the mapping schema."""

    code = "mapping-invalid"
    title = "Mapping file invalid"


class MappingDoesNotFit(InputRejected):
    """A mapping names columns the uploaded file does not have."""

    code = "mapping-does-not-fit"
    title = "Mapping does not fit the file"

"""Why an upload was rejected: one exception per reason, each with a stable ``code``.

Every message names the file, sheet, row or column and says what to do; none ever quotes a
cell value (survivors are the people in the data), so messages can be shown to the partner,
logged and put in reports as they are.
"""

from __future__ import annotations

from schemas.errors import InputRejected, PayloadTooLarge


class IngestRejected(InputRejected):
    """An upload could not be read as a table; nothing was stored or harmonised.

    The optional location fields let a report or problem+json body point at the place
    without parsing the message.
    """

    code = "ingest-rejected"
    title = "Upload rejected"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        filename: str | None = None,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.filename = filename
        self.sheet = sheet
        self.row = row
        self.column = column


class UnsupportedFormat(IngestRejected):
    code = "unsupported-format"
    title = "Unsupported file format"


class CorruptFile(IngestRejected):
    """The file looks like a known format (Excel, Parquet) but cannot be parsed as one."""

    code = "corrupt-file"
    title = "File is damaged"


class PasswordProtected(IngestRejected):
    code = "password-protected"
    title = "File is password-protected"


class UnreadableEncoding(IngestRejected):
    code = "unreadable-encoding"
    title = "Unreadable text encoding"


class EmptyFile(IngestRejected):
    code = "empty-file"
    title = "File is empty"


class NoHeader(IngestRejected):
    code = "no-header"
    title = "No header row"


class DuplicateColumns(IngestRejected):
    code = "duplicate-columns"
    title = "Duplicate column names"


class RowTooLong(IngestRejected):
    """A data row has more cells than the header has columns."""

    code = "row-too-long"
    title = "Row has more cells than the header"


class NoDataRows(IngestRejected):
    """A header and nothing under it: an upload must hold at least one case."""

    code = "no-data-rows"
    title = "No data rows"


class TooManyColumns(IngestRejected):
    code = "too-many-columns"
    title = "Too many columns"


class CellTooLong(IngestRejected):
    """One cell holds more characters than any case field needs (a pasted document)."""

    code = "cell-too-long"
    title = "Cell too long"


class NestingTooDeep(IngestRejected):
    """JSON nested deeper than any case record is (and deep enough to exhaust a parser)."""

    code = "nesting-too-deep"
    title = "JSON nested too deeply"


class NulCharacter(IngestRejected):
    """A NUL character inside otherwise readable data: a damaged file, or binary pasted in."""

    code = "nul-character"
    title = "File contains NUL characters"


class SheetNotFound(IngestRejected):
    code = "sheet-not-found"
    title = "Sheet not found"


class TooManyRows(IngestRejected):
    code = "too-many-rows"
    title = "Too many rows"


class MalformedJson(IngestRejected):
    code = "malformed-json"
    title = "Malformed JSON"


class FileTooLarge(IngestRejected, PayloadTooLarge):
    """Too many bytes: the upload itself, or what a compressed workbook would expand to."""

    code = "file-too-large"
    title = "File too large"


#: every ingest error type, for generated documentation and the test that keeps codes unique
ALL_ERRORS: tuple[type[IngestRejected], ...] = (
    UnsupportedFormat,
    CorruptFile,
    PasswordProtected,
    UnreadableEncoding,
    EmptyFile,
    NoHeader,
    DuplicateColumns,
    RowTooLong,
    NoDataRows,
    TooManyColumns,
    CellTooLong,
    NestingTooDeep,
    NulCharacter,
    SheetNotFound,
    TooManyRows,
    MalformedJson,
    FileTooLarge,
)

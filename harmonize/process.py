"""Process a received upload: harmonise it with its mapping and store its cases, atomically."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from harmonize import htcds
from harmonize.errors import NoMapping
from harmonize.harmonizer import harmonize
from harmonize.mapping import Mapping
from harmonize.store import store_cases
from ingest import uploads
from ingest.pii import find_identifiers
from ingest.raw_store import RawStore
from ingest.readers import read_table
from ingest.table import RawTable
from schemas.errors import CtcollabError, InputRejected

log = logging.getLogger("ctcollab.harmonize")


FORMULA_STARTS = ("=", "+", "@", "\t", "\r")


def shown_to_partner(value: str) -> bool:
    # Unmapped values go back only to their uploader, but one that looks like a name, phone
    # or ID is withheld even there: reports get forwarded, printed and pasted into tickets.
    # So is anything a spreadsheet would run as a formula when the report is opened in one.
    text = value.lstrip(" ")
    if text.startswith(FORMULA_STARTS) or (text[:1] == "-" and not text[1:2].isdigit()):
        return False
    return not find_identifiers(value)


def choose_mapping(table: RawTable, mapping: Mapping | None, *, explicit: bool
                   ) -> tuple[RawTable, Mapping, dict[str, object]]:
    """The table and mapping to harmonise with, and what to add to the partner's report.

    A mapping given for this upload wins; otherwise an HTCDS extract is recognised by its
    headers and mapped by the built-in crosswalk (eligible, consenting cases only); otherwise
    the organisation's registered mapping applies.
    """
    if not explicit and htcds.recognise(table) is not None:
        prepared = htcds.prepare(table)
        return prepared.table, prepared.mapping, {**prepared.report(),
                                                  "rows_read": prepared.rows_read}
    if mapping is None:
        raise NoMapping("this file is not an HTCDS extract and the organisation has no mapping",
                        hint="register one with `ctcollab ingest --mapping M.yaml`")
    extra: dict[str, object] = {
        "columns_dropped": [c for c in table.frame.columns if c not in mapping.columns]}
    return table, mapping, extra


def process(engine: sa.Engine, store: RawStore, upload: uploads.Upload,
            mapping: Mapping | None, *, secret: bytes, table: RawTable | None = None,
            explicit: bool = True) -> uploads.Upload:
    """Harmonise and store one upload. Cases and status change in one transaction.

    ``explicit`` says the mapping was given for this upload (it then overrides HTCDS
    recognition); a registered mapping is passed with ``explicit=False``.
    A rejected file ends as status ``rejected`` with its error code and nothing stored;
    an unexpected error ends as ``failed``. Either way no half-processed upload is visible.
    """
    try:
        if table is None:
            table = read_table(store.read(upload.sha256), upload.filename)
        table, mapping, extra = choose_mapping(table, mapping, explicit=explicit)
        result = harmonize(table.frame, table.source_rows, mapping, org_id=upload.org_id,
                           secret=secret)
        report = {**result.report(show_unmapped=shown_to_partner), **extra}
        with engine.begin() as conn:
            # Repeats within this organisation only: a count over all organisations would
            # tell a partner whether another holds a named person.
            report["repeat_records"] = store_cases(conn, result, org_id=upload.org_id,
                                                   upload_id=upload.id)
            uploads.mark(conn, upload.id, uploads.HARMONISED,
                         mapping_version=mapping.mapping_version, rows_read=report["rows_read"],
                         rows_accepted=len(result.cases),
                         rows_quarantined=report["rows_quarantined"], report=report)
    except InputRejected as err:
        with engine.begin() as conn:
            uploads.mark(conn, upload.id, uploads.REJECTED, error_code=err.code,
                         report={"error": {"code": err.code, "title": err.title,
                                           "detail": str(err)}})
        raise
    except Exception as err:
        log.error("upload %s failed: %s", upload.id, type(err).__name__)
        with engine.begin() as conn:
            code = err.code if isinstance(err, CtcollabError) else "internal"
            uploads.mark(conn, upload.id, uploads.FAILED, error_code=code)
        raise
    log.info("upload %s harmonised: %s rows read, %s accepted", upload.id, result.rows_read,
             len(result.cases))
    with engine.connect() as conn:
        return uploads.get(conn, upload.org_id, upload.id)

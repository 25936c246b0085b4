"""HTCDS 2.0 extracts: recognised by their headers, screened, and mapped with no mapping file.

Partners whose case management follows IOM's Human Trafficking Case Data Standard upload
its Excel template, an XLSForm (KoboToolbox / ODK) export or a system export. `recognise`
tells them apart by their field names; `prepare` keeps the eligible, consenting cases,
drops every identifying column and derives what the built-in mapping reads; the crosswalk
itself is data (schemas/crosswalks/htcds.yaml, see `harmonize.htcds_crosswalk`).

Eligibility and consent (methodology). A case from an HTCDS extract enters the victim
dataset only if (1) its consent field (con_Consent) records that the person consented to
their data being shared ("TRUE", "Yes", "1", a tick or the like) and (2) its trafficking
status (vic_TraffickingStatus) is "Actual victim of trafficking" (an identified victim) or
"Possible victim of trafficking" (a presumed victim). A case whose consent is refused,
blank or unreadable, or whose status is "Not a victim of trafficking", blank or
unreadable, is left out before anything but the raw file is stored: none of its values is
harmonised, stored, logged or reported, and the partner's report only counts such cases by
reason (no-consent, consent-not-recorded, not-a-victim, trafficking-status-missing).
Consent is checked first, so a case without consent is counted as such whatever its
status. The deprecated HTCDS field vic_AgreementToManagePersonalData (agreement that the
organisation manage personal data) is never read as consent to share. Names, salutation,
title, identity numbers, e-mail, phones and postal address of the person, case-worker
names, free-text referral and closure details, and free-text places are dropped at ingest;
the birth date is read only to compute the age at the case date and is then dropped.
The first and second names and the birth date are also read, before they are dropped, to
compute the person's linkage keys (keyed hashes that count a person recorded twice once);
they are never stored.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Literal

import pandas as pd

from harmonize.dates import age_at, detect_format, parse_date
from harmonize.htcds_crosswalk import (
    CASE_PREFIXES,
    Crosswalk,
    compact,
    crosswalk,
    crosswalk_rows,
    field_key,
)
from harmonize.mapping import MULTI_SELECT, BirthDate, FieldRule, Linkage, Mapping
from harmonize.matching import is_not_supplied
from ingest.table import RawTable
from schemas.definition import SCHEMA, normalise_token
from schemas.errors import InputRejected

__all__ = [
    "METHODOLOGY_NOTE",
    "HtcdsPrepared",
    "NotHtcds",
    "Recognised",
    "builtin_mapping",
    "crosswalk_rows",
    "prepare",
    "recognise",
]

log = logging.getLogger("ctcollab.harmonize.htcds")

#: the eligibility and consent rules, for the methodology page
METHODOLOGY_NOTE: str = (
    'A case from an HTCDS extract enters the victim dataset only if (1) its consent field '
    '(con_Consent) records that the person consented to their data being shared ("TRUE", '
    '"Yes", "1", a tick or the like) and (2) its trafficking status '
    '(vic_TraffickingStatus) is "Actual victim of trafficking" (an identified victim) or '
    '"Possible victim of trafficking" (a presumed victim). A case whose consent is '
    'refused, blank or unreadable, or whose status is "Not a victim of trafficking", '
    'blank or unreadable, is left out before anything but the raw file is stored: none of '
    "its values is harmonised, stored, logged or reported, and the partner's report only "
    'counts such cases by reason (no-consent, consent-not-recorded, not-a-victim, '
    'trafficking-status-missing). Consent is checked first, so a case without consent is '
    'counted as such whatever its status. The deprecated HTCDS field '
    'vic_AgreementToManagePersonalData (agreement that the organisation manage personal '
    'data) is never read as consent to share. Names, salutation, title, identity numbers, '
    'e-mail, phones and postal address of the person, case-worker names, free-text '
    'referral and closure details, and free-text places are dropped at ingest; the birth '
    'date is read only to compute the age at the case date and is then dropped. '
    'The first and second names and the birth date are also read, before they are dropped, '
    "to compute the person's linkage keys (keyed hashes that count a person recorded twice "
    'once); they are never stored.'
)

Form = Literal["excel-template", "xlsform", "system-export"]

#: derived columns of the prepared table (what the built-in mapping reads)
CASE_ID = "htcds.case_id"
CASE_DATE = "htcds.case_date"
AGE = "htcds.age_years"
MAJORITY_AT_EXPLOIT = "htcds.majority_status_at_exploit"
#: read only for the linkage keys by the harmonizer, never stored
LINKAGE_NAME = "htcds.linkage_name"
LINKAGE_BIRTH_DATE = "htcds.linkage_birth_date"
UNPARSEABLE = "unparseable"  # a marker the harmonizer quarantines, never a cell value

#: minimum evidence that a table follows the standard
MIN_FIELDS = 3
MIN_TABLES = 2

_PATH_SEPARATORS = re.compile(r"[/:.\-]")
_TEMPLATE_ROW_NUMBER = re.compile(r"^column_(?:[A-Z]{1,3}|\d{1,3})$")  # the reader's name
# columns only XLSForm tools (KoboToolbox, ODK Central) write, by last path segment
_XLSFORM_META = frozenset((
    "__version__", "_version_", "_uuid", "_id", "_index", "_submission_time", "_submitted_by",
    "_status", "_validation_status", "_notes", "_tags", "_geolocation", "_attachments",
    "instanceid", "submissiondate", "submitterid", "submittername", "attachmentspresent",
    "attachmentsexpected", "reviewstate", "deviceid",
))
_TRUTHY = frozenset(normalise_token(t) for t in ("1", "true", "yes", "x"))
_SPREADSHEETS = ("xlsx", "xls", "ods")
ADULT_AGE = 18
MAX_AGE = 120


class NotHtcds(InputRejected):
    """`prepare` was given a table that does not follow the standard."""

    code = "not-htcds"
    title = "Not an HTCDS extract"


@dataclass(frozen=True)
class Recognised:
    """Which HTCDS form a table is, and the standard's fields it holds."""

    form: Form
    fields: tuple[str, ...]


@dataclass(frozen=True)
class _Column:
    original: str
    field: str | None = None  # field-standard name
    choice: str | None = None  # XLSForm split select_multiple: the choice of this column
    grouped: bool = False  # had a group path before the field name
    meta: str | None = None  # compact last path segment, for id / date / form columns

    @property
    def xlsform_meta(self) -> bool:
        last = _PATH_SEPARATORS.split(self.original.strip())[-1].lower()
        return self.field is None and last in _XLSFORM_META


def _analyse(name: str, cw: Crosswalk) -> _Column:
    field = cw.canonical(name)
    if field is not None:
        return _Column(name, field=field)
    segments = [s for s in _PATH_SEPARATORS.split(name.strip()) if s]
    for k in range(len(segments) - 1, -1, -1):
        if field_key(segments[k]) is None:
            continue
        # underscores and hyphens may sit inside the field segment: rejoin what follows
        # the group path up to a known field name, longest first
        for end in range(len(segments), k, -1):
            candidate = "_".join(segments[k:end])
            known = cw.canonical(candidate)
            if known is not None:
                rest = "/".join(segments[end:]) or None
                return _Column(name, field=known, choice=rest, grouped=k > 0)
        break
    last = compact(segments[-1]) if segments else ""
    return _Column(name, meta=last or None)


def _columns(table: RawTable) -> list[_Column]:
    cw = crosswalk()
    return [_analyse(c, cw) for c in table.columns]


def recognise(table: RawTable) -> Recognised | None:
    """The HTCDS form of a table, or None when its headers do not follow the standard.

    At least three of the standard's fields from at least two of its case tables (cas_,
    prs_, vic_, con_) must be present, whatever group path (XLSForm) or
    spelling variant (prs_First_Name) they carry.
    """
    cols = _columns(table)
    fields = tuple(dict.fromkeys(c.field for c in cols if c.field is not None))
    tables = {f.split("_", 1)[0] for f in fields} & set(CASE_PREFIXES)
    if len(fields) < MIN_FIELDS or len(tables) < MIN_TABLES:
        return None
    form: Form
    if any(c.grouped or c.choice or c.xlsform_meta for c in cols):
        form = "xlsform"
    elif table.format in _SPREADSHEETS and len(table.header_rows) == 2:
        form = "excel-template"  # the templates' hidden row of names above the labels
    else:
        form = "system-export"
    return Recognised(form, fields)


@dataclass(frozen=True)
class HtcdsPrepared:
    """An HTCDS table made ready for `harmonize.harmonizer.harmonize` with `mapping`.

    Every count is of cases or cells, keyed by reason or HTCDS field/value name; nothing
    here holds a cell value of the upload.
    """

    #: eligible, consenting rows only; standard field names; identifying columns removed;
    #: the derived columns the mapping reads (htcds.*)
    table: RawTable
    #: the built-in mapping (version from the crosswalk, e.g. htcds-2-0/1)
    mapping: Mapping
    form: Form
    #: rows read from the upload before screening
    rows_read: int
    #: rows left out before harmonisation, by reason
    excluded: dict[str, int]
    #: column names (as uploaded) removed from the table: identity, contact, case-worker,
    #: free-text, place and every column the standard does not define
    dropped_columns: tuple[str, ...]
    #: type-of-exploitation values with no common-schema slot, mapped to "other": cases
    other_exploitation: dict[str, int]
    #: cells of eligible cases with a value (or part) the crosswalk does not know, by field
    unmapped: dict[str, int]

    @property
    def mapping_version(self) -> str:
        return self.mapping.mapping_version

    def report(self) -> dict[str, object]:
        """What to add to the partner's report: counts and column names only."""
        return {
            "form": self.form,
            "crosswalk": crosswalk().version,
            "rows_in_file": self.rows_read,
            "excluded_by_reason": dict(sorted(self.excluded.items())),
            "other_exploitation": dict(sorted(self.other_exploitation.items())),
            "unmapped_cells_by_field": dict(sorted(self.unmapped.items())),
            "columns_dropped": list(self.dropped_columns),
        }


def _identity(vocabulary: str) -> dict[str, str | bool]:
    return {v.code: v.code for v in SCHEMA.vocabularies[vocabulary].values if not v.derived}


def _target_column(target: str) -> str:
    return f"htcds.{target}"


@cache
def builtin_mapping() -> Mapping:
    """The built-in HTCDS mapping: reads only the derived htcds.* columns of `prepare`.

    The crosswalk decides every value in `prepare`; the mapping passes the resulting codes
    through (each code maps to itself), so nothing depends on free-text synonym matching.
    """
    cw = crosswalk()
    fields: dict[str, FieldRule] = {
        "year_of_registration": FieldRule(column=CASE_DATE, date_format="iso"),
        "age_broad": FieldRule(column=AGE, kind="years"),
        "majority_status_at_exploit": FieldRule(
            column=MAJORITY_AT_EXPLOIT, values=_identity("majority_status")),
    }
    for target in _targets(cw):
        if target in MULTI_SELECT:
            fields[target] = FieldRule(column=_target_column(target), separator=";",
                                       values=_identity(target))
        else:
            vocabulary = SCHEMA.field(target).vocabulary or target
            fields[target] = FieldRule(column=_target_column(target),
                                       values=_identity(vocabulary))
    for target in cw.country_fields.values():
        fields[target] = FieldRule(column=_target_column(target))
    linkage = None
    if cw.linkage_name and cw.linkage_birth_date:
        linkage = Linkage(name=(LINKAGE_NAME,),
                          birth_date=BirthDate(column=LINKAGE_BIRTH_DATE, date_format="iso"))
    return Mapping(
        mapping_version=cw.mapping_version,
        description=f"Built-in crosswalk from {cw.standard} ({cw.version})",
        case_id=CASE_ID,
        constants=dict(cw.constants),
        fields=fields,
        linkage=linkage,
    )


def _targets(cw: Crosswalk) -> tuple[str, ...]:
    targets: dict[str, None] = {}
    for picklist in cw.picklists.values():
        for value in picklist.values:
            for target, _ in value.codes:
                targets[target] = None
    return tuple(targets)


# --- prepare -----------------------------------------------------------------------------


def prepare(table: RawTable) -> HtcdsPrepared:
    """Screen an HTCDS table and derive the columns of the built-in mapping.

    Raises `NotHtcds` when `recognise` does not accept the table.
    """
    recognised = recognise(table)
    if recognised is None:
        raise NotHtcds("the file does not follow the HTCDS 2.0 field standard",
                       hint="upload it with a mapping (--mapping)")
    cw = crosswalk()
    cols = _columns(table)
    source = table.frame.reset_index(drop=True)
    fields = _field_frame(source, cols)
    rows_read = len(source)

    keep, excluded = _screen(fields, cw)
    kept = fields[keep].reset_index(drop=True)
    src = source[keep].reset_index(drop=True)
    source_rows = tuple(r for r, k in zip(table.source_rows, keep, strict=True) if k)

    derived: dict[str, list[str]] = {}
    unmapped: Counter[str] = Counter()
    derived[CASE_ID] = _case_ids(src, cols, cw, source_rows)
    case_dates = _case_dates(src, kept, cols, cw)
    derived[CASE_DATE] = [d.isoformat() if isinstance(d, date) else d for d in case_dates]
    births = (_parse_column(kept["prs_Birthdate"]) if "prs_Birthdate" in kept.columns
              else [None] * len(kept))
    derived[AGE] = _ages(births, case_dates)
    if builtin_mapping().linkage is not None:
        derived[LINKAGE_NAME] = _linkage_names(kept, cw)
        derived[LINKAGE_BIRTH_DATE] = [b.isoformat() if isinstance(b, date) else ""
                                       for b in births]
    derived[MAJORITY_AT_EXPLOIT] = _majority(kept, unmapped)
    codes, other = _picklists(kept, cw, unmapped)
    derived.update(codes)
    derived.update(_countries(kept, cw, unmapped))

    out_fields = [f for f in cw.keep if f in kept.columns]
    frame = kept[out_fields].copy()
    for name, values in derived.items():
        frame[name] = pd.Series(values, index=frame.index, dtype=object)
    used = {_first_column(cols, f) for f in out_fields}
    dropped = tuple(c.original for c in cols if c.original not in used)
    prepared_table = dataclasses.replace(table, frame=frame, source_rows=source_rows)
    log.info("HTCDS %s: %d rows read, %d eligible, %d excluded, %d columns dropped",
             recognised.form, rows_read, len(frame), rows_read - len(frame), len(dropped))
    return HtcdsPrepared(
        table=prepared_table, mapping=builtin_mapping(), form=recognised.form,
        rows_read=rows_read, excluded=dict(excluded), dropped_columns=dropped,
        other_exploitation=dict(other), unmapped=dict(unmapped))


def _first_column(cols: Sequence[_Column], field: str) -> str:
    for c in cols:
        if c.field == field and c.choice is None:
            return c.original
    return ""


def _field_frame(source: pd.DataFrame, cols: Sequence[_Column]) -> pd.DataFrame:
    """The standard's fields by their standard names (first column of a name wins).

    XLSForm exports may split a select_multiple into one 0/1 column per choice; when the
    whole-answer column is missing it is rebuilt from them, space-separated as XLSForm does.
    """
    out: dict[str, pd.Series] = {}
    for i, c in enumerate(cols):
        if c.field is not None and c.choice is None and c.field not in out:
            out[c.field] = source.iloc[:, i].astype(str)
    choices: dict[str, list[tuple[str, pd.Series]]] = {}
    for i, c in enumerate(cols):
        if c.field is not None and c.choice is not None and c.field not in out:
            choices.setdefault(c.field, []).append((c.choice, source.iloc[:, i].astype(str)))
    for field, parts in choices.items():
        ticked = [(choice, col.map(lambda v: normalise_token(str(v)) in _TRUTHY))
                  for choice, col in parts]
        out[field] = pd.Series(
            [" ".join(choice for choice, mask in ticked if mask.iloc[r])
             for r in range(len(source))], index=source.index, dtype=object)
    return pd.DataFrame(out, index=source.index, dtype=object)


def _screen(fields: pd.DataFrame, cw: Crosswalk) -> tuple[list[bool], Counter[str]]:
    """Which rows are eligible, consenting cases; the others counted by reason.

    In order: an empty row, a template's row of labels under its row of names (a CSV saved
    from the template), consent refused or not recorded, then the trafficking status.
    """
    n = len(fields)
    filled = pd.Series(0, index=fields.index)
    labels = pd.Series(0, index=fields.index)
    for f in fields.columns:
        col = fields[f]
        label_key = (field_key(str(f)) or "").split("_", 1)[-1]
        uniques = col.unique()
        supplied = {u: not is_not_supplied(str(u)) for u in uniques}
        is_label = {u: supplied[u] and compact(str(u)) == label_key for u in uniques}
        filled += col.map(supplied).astype(int)
        labels += col.map(is_label).astype(int)
    blank = pd.Series("", index=fields.index, dtype=object)
    consent = fields.get(cw.consent_field, blank)
    status = fields.get(cw.eligibility_field, blank)
    consent_of = {u: cw.consent_of(str(u)) for u in consent.unique()}
    status_of = {u: cw.status_of(str(u)) for u in status.unique()}
    given = [consent_of[u] for u in consent]
    kind = [status_of[u] for u in status]
    n_filled = filled.tolist()
    n_labels = labels.tolist()
    excluded: Counter[str] = Counter()
    keep: list[bool] = []
    for i in range(n):
        reason: str | None = None
        if n_filled[i] == 0:
            reason = "empty-row"
        elif n_labels[i] * 2 >= n_filled[i]:
            reason = "header-row"
        elif given[i] is False:
            reason = "no-consent"
        elif given[i] is not True:
            reason = "consent-not-recorded"
        elif kind[i] == "not_a_victim":
            reason = "not-a-victim"
        elif kind[i] is None:
            reason = "trafficking-status-missing"
        keep.append(reason is None)
        if reason is not None:
            excluded[reason] += 1
    return keep, excluded


def _case_ids(src: pd.DataFrame, cols: Sequence[_Column], cw: Crosswalk,
              source_rows: Sequence[int]) -> list[str]:
    """The partner's local case id: a case-id column, a form record id, the template's row
    number, or else the sheet row. HMAC-ed by the harmonizer and never stored."""
    by_meta = _meta_columns(cols)
    for name in cw.case_id_columns:
        i = by_meta.get(compact(name))
        if i is None:
            field = cw.canonical(name)
            i = next((j for j, c in enumerate(cols) if field and c.field == field
                      and c.choice is None), None)
        if i is not None:
            return [str(v).strip() for v in src.iloc[:, i]]
    for j, c in enumerate(cols):
        values = src.iloc[:, j].astype(str).str.strip()
        if (_TEMPLATE_ROW_NUMBER.match(c.original) and len(values)
                and values.str.fullmatch(r"\d+").all() and values.is_unique):
            return [f"template-row-{v}" for v in values]
    return [f"row-{r}" for r in source_rows]


def _meta_columns(cols: Sequence[_Column]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i, c in enumerate(cols):
        if c.meta is not None:
            out.setdefault(c.meta, i)
    return out


def _parse_column(values: Iterable[str]) -> list[date | str | None]:
    """Dates of one column (its format decided from all its values); UNPARSEABLE marks a
    value that is not a date, None a blank one."""
    texts = [str(v).strip() for v in values]
    detected = detect_format(texts)
    fmt = detected.format if detected else None
    out: list[date | str | None] = []
    for t in texts:
        if is_not_supplied(t):
            out.append(None)
        else:
            out.append(parse_date(t, fmt) or UNPARSEABLE)
    return out


def _case_dates(src: pd.DataFrame, kept: pd.DataFrame, cols: Sequence[_Column],
                cw: Crosswalk) -> list[date | str]:
    """Per case: the first case date present (see case_date_columns), or UNPARSEABLE when
    dates are present but none reads, or "" when there is none."""
    by_meta = _meta_columns(cols)
    parsed_columns: list[list[date | str | None]] = []
    for name in cw.case_date_columns:
        field = cw.canonical(name)
        if field is not None and field in kept.columns:
            parsed_columns.append(_parse_column(kept[field]))
        elif (i := by_meta.get(compact(name))) is not None:
            parsed_columns.append(_parse_column(src.iloc[:, i]))
    out: list[date | str] = []
    for r in range(len(kept)):
        cells = [col[r] for col in parsed_columns if col[r] is not None]
        found = next((c for c in cells if isinstance(c, date)), None)
        out.append(found if found is not None else (UNPARSEABLE if cells else ""))
    return out


def _linkage_names(kept: pd.DataFrame, cw: Crosswalk) -> list[str]:
    """Per case the name parts the linkage keys read, joined ("" when none is given)."""
    parts = [kept[f].astype(str).str.strip() for f in cw.linkage_name if f in kept.columns]
    if not parts:
        return [""] * len(kept)
    return [" ".join(p for p in row if not is_not_supplied(p))
            for row in zip(*(p.tolist() for p in parts), strict=True)]


def _ages(births: Sequence[date | str | None], case_dates: Sequence[date | str]) -> list[str]:
    """Completed years at the case date from prs_Birthdate (the birth date goes no further).

    An unreadable birth date or a case without a case date gives no age; a birth date after
    the case date gives a negative age, which the harmonizer quarantines as out of range.
    """
    out = []
    for birth, on in zip(births, case_dates, strict=True):
        if isinstance(birth, date) and isinstance(on, date):
            out.append(str(age_at(birth, on) if birth <= on else -1))
        else:
            out.append("")
    return out


def _majority(kept: pd.DataFrame, unmapped: Counter[str]) -> list[str]:
    field = "vic_AgeWhenTrafficked"
    if field not in kept.columns:
        return [""] * len(kept)
    out = []
    for raw in kept[field]:
        text = str(raw).strip().replace(",", ".")
        if is_not_supplied(text):
            out.append("")
            continue
        try:
            age = float(text)
        except ValueError:
            age = -1.0
        if 0 <= age <= MAX_AGE:
            out.append("minor" if age < ADULT_AGE else "adult")
        else:
            unmapped[field] += 1
            out.append("")
    return out


def _picklists(kept: pd.DataFrame, cw: Crosswalk, unmapped: Counter[str]
               ) -> tuple[dict[str, list[str]], Counter[str]]:
    """Per target field or group: each case's codes, ';'-joined ("" when not supplied)."""
    targets = _targets(cw)
    chosen: dict[str, list[set[str] | None]] = {t: [None] * len(kept) for t in targets}
    other: Counter[str] = Counter()
    for field, picklist in cw.picklists.items():
        if field not in kept.columns:
            continue
        cache: dict[str, tuple[tuple[tuple[str, str], ...], tuple[str, ...], int]] = {}
        for r, raw in enumerate(kept[field]):
            text = str(raw)
            if text not in cache:
                values, missed = picklist.split(text)
                codes = tuple(c for v in values for c in v.codes)
                others = tuple(v.name for v in values
                               if (picklist.target, "other") in v.codes
                               and picklist.target == "exploitation_type")
                cache[text] = (codes, others, missed)
            codes, others, missed = cache[text]
            if missed:
                unmapped[field] += 1
            other.update(others)
            for target, code in codes:
                slot = chosen[target][r]
                if slot is None:
                    slot = chosen[target][r] = set()
                slot.add(code)
    out: dict[str, list[str]] = {}
    for target, rows in chosen.items():
        column: list[str] = []
        for codes_of_row in rows:
            if not codes_of_row:
                column.append("")
            elif target in MULTI_SELECT:
                column.append(";".join(sorted(codes_of_row)))
            else:
                column.append(sorted(codes_of_row)[0] if len(codes_of_row) == 1 else "")
        out[_target_column(target)] = column
    return out, other


_COUNTRY_SPLIT = re.compile(r"[;|,]|\s+")


def _countries(kept: pd.DataFrame, cw: Crosswalk, unmapped: Counter[str]
               ) -> dict[str, list[str]]:
    """ISO alpha-3 codes of citizenship and country of exploitation ("" when none)."""
    out: dict[str, list[str]] = {}
    for field, target in cw.country_fields.items():
        column = [""] * len(kept)
        if field in kept.columns:
            cache: dict[str, str | None] = {}
            for r, raw in enumerate(kept[field]):
                text = str(raw).strip()
                if is_not_supplied(text):
                    continue
                if text not in cache:
                    cache[text] = _country_in(text, cw)
                code = cache[text]
                if code is None:
                    unmapped[field] += 1
                else:
                    column[r] = code
        out[_target_column(target)] = column
    return out


def _country_in(text: str, cw: Crosswalk) -> str | None:
    """The country a cell names: the whole cell, else its first listed part (a multi-select
    citizenship keeps the first country), else the last comma-separated part ("City, Country")."""
    whole = cw.country(text)
    if whole is not None:
        return whole
    parts = [p for p in re.split(r"[;|]", text) if p.strip()]
    if len(parts) > 1:
        return cw.country(parts[0])
    words = text.split()
    if len(words) > 1 and all(len(w) in (2, 3) and w.isalpha() for w in words):
        return cw.country(words[0])  # XLSForm select_multiple of ISO codes
    if "," in text:
        return cw.country(text.rsplit(",", 1)[1])
    return None

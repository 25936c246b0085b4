"""Apply a mapping to a partner table: common-schema case rows, quarantine and a coverage report.

Work is done per distinct value, not per row, so a million-row extract with a few hundred
distinct labels per column costs a few hundred look-ups.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from harmonize.dates import age_at, detect_format, parse_date
from harmonize.errors import MappingDoesNotFit
from harmonize.mapping import MULTI_SELECT, FieldRule, Mapping
from harmonize.matching import NOT_SUPPLIED, is_not_supplied, match
from schemas.definition import SCHEMA, Field, normalise_token
from schemas.dtypes import pandas_dtype

YES = frozenset(normalise_token(t) for t in (
    "1", "yes", "y", "true", "x", "oui", "o", "vrai", "si", "sí", "sim", "naam", "na'am", "aywa"))
NO = frozenset(normalise_token(t) for t in (
    "0", "no", "n", "false", "non", "faux", "nao", "não", "la", "laa"))
ADULT_AGE = 18
MAX_AGE = 120


@dataclass(frozen=True)
class QuarantinedRow:
    """A source row kept out of the cases, with why. Never holds the cell value."""

    row: int
    field: str
    reason: str


@dataclass
class FieldCoverage:
    mapped: int = 0
    unknown: int = 0
    not_supplied: int = 0
    unmapped_values: Counter[str] = field(default_factory=Counter)


@dataclass
class Harmonized:
    """The result of harmonising one table."""

    cases: pd.DataFrame  # internal form: case_key + stored CTDC fields
    quarantine: list[QuarantinedRow]
    coverage: dict[str, FieldCoverage]
    rows_read: int
    mapping_version: str
    notes: list[str] = field(default_factory=list)

    def report(
        self, *, show_unmapped: Callable[[str], bool] = lambda _v: True
    ) -> dict[str, object]:
        """The partner's report: counts and coverage, row numbers and reason codes only.

        Unmapped vocabulary values are the uploader's own data and go only to them;
        ``show_unmapped`` lets the caller withhold any that look like identifiers.
        """
        n = len(self.cases)
        reasons = Counter(q.reason for q in self.quarantine)
        return {
            "mapping_version": self.mapping_version,
            "rows_read": self.rows_read,
            "rows_accepted": n,
            "rows_quarantined": len({q.row for q in self.quarantine}),
            "quarantined_by_reason": dict(sorted(reasons.items())),
            "notes": list(self.notes),
            "quarantine": [{"row": q.row, "field": q.field, "reason": q.reason}
                           for q in self.quarantine[:1000]],
            "fields": {
                name: {
                    "mapped_pct": _pct(c.mapped, n), "unknown_pct": _pct(c.unknown, n),
                    "not_supplied_pct": _pct(c.not_supplied, n),
                    "unmapped_values": {v: k for v, k in c.unmapped_values.most_common(50)
                                        if show_unmapped(v)},
                }
                for name, c in self.coverage.items()
            },
        }


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def linkage_key(secret: bytes, parts: list[str]) -> str | None:
    """HMAC-SHA256 over normalised identifying values shared across organisations.

    Missing when any part is missing: a partial key would link different people.
    """
    tokens = [normalise_token(p) for p in parts]
    if any(not t for t in tokens):
        return None
    message = "link\x1f" + "\x1f".join(tokens)
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def case_key(secret: bytes, org_id: int, local_id: str) -> str:
    """HMAC-SHA256 over organisation and local case id: stable, not reversible without the key."""
    message = f"{org_id}\x1f{local_id.strip()}".encode()
    return hmac.digest(secret, message, "sha256").hex()


def case_keys(secret: bytes, org_id: int, local_ids: Iterable[str]) -> list[str]:
    """``case_key`` of many ids: the HMAC's keyed pads are hashed once (RFC 2104), then
    copied for each id — twice as fast as ``hmac.digest`` per id."""
    key = hashlib.sha256(secret).digest() if len(secret) > _SHA256_BLOCK else secret
    key = key.ljust(_SHA256_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    prefix = f"{org_id}\x1f"
    out = []
    for local_id in local_ids:
        digest = inner.copy()
        digest.update(f"{prefix}{local_id.strip()}".encode())
        final = outer.copy()
        final.update(digest.digest())
        out.append(final.hexdigest())
    return out


_SHA256_BLOCK = 64


class _Work:
    """Mutable state of one harmonisation run."""

    def __init__(self, frame: pd.DataFrame, source_rows: list[int]) -> None:
        self.frame = frame
        self.source_rows = np.asarray(source_rows)
        self.n = len(frame)
        self.bad = np.zeros(self.n, dtype=bool)
        self.quarantine: list[QuarantinedRow] = []
        self.out: dict[str, pd.Series] = {}
        self.coverage: dict[str, FieldCoverage] = {}
        self.notes: list[str] = []
        self.registered: pd.Series | None = None

    def reject(self, mask: np.ndarray, field_name: str, reason: str) -> None:
        mask = mask & ~self.bad
        for i in np.flatnonzero(mask):
            self.quarantine.append(QuarantinedRow(int(self.source_rows[i]), field_name, reason))
        self.bad |= mask


# normalise_token's separators as they occur in ASCII text (Python's \s takes in \x1c-\x1f)
_ASCII_SEPARATORS = r"[ \t\n\r\x0b\x0c\x1c-\x1f_\-/'.,;:()]+"
_NOT_SUPPLIED_SET = pa.array(sorted(NOT_SUPPLIED), type=pa.large_string())


def _not_supplied(col: pd.Series) -> np.ndarray:
    """``is_not_supplied`` of every cell, as a mask: once per distinct value.

    A column of a million distinct case ids has a million distinct values; for those, in
    ASCII text, normalise_token only lower-cases and folds separator runs into one space,
    which Arrow's string kernels do for all of them at once. Other text goes through
    normalise_token itself.
    """
    codes, uniques = pd.factorize(col, use_na_sentinel=False)
    values = np.asarray(uniques, dtype=object)
    if len(values) < _VECTORISE_FROM:
        flags = np.array([is_not_supplied(v) for v in values], dtype=bool)
    else:
        text = pa.array(values, type=pa.large_string())
        ascii_text = pc.string_is_ascii(text)
        folded = pc.utf8_trim(
            pc.replace_substring_regex(pc.ascii_lower(text), _ASCII_SEPARATORS, " "), " ")
        mask = pc.and_(ascii_text, pc.is_in(folded, value_set=_NOT_SUPPLIED_SET))
        flags = mask.to_numpy(zero_copy_only=False).astype(bool)
        for i in np.flatnonzero(~ascii_text.to_numpy(zero_copy_only=False).astype(bool)):
            flags[i] = is_not_supplied(values[i])
    result: np.ndarray = flags[codes]
    return result


_VECTORISE_FROM = 10_000


def _map_distinct(col: pd.Series, fn: Callable[[Any], object]) -> pd.Series:
    """Apply ``fn`` once per distinct value (an object Series; a mask needs .astype(bool)).

    pandas' factorize and a numpy take, not ``Series.map(dict)``: with pandas 3 a dict of
    str keys becomes an Arrow-backed index, and every look-up converts a million values.
    """
    codes, uniques = pd.factorize(col, use_na_sentinel=False)
    results = np.empty(len(uniques), dtype=object)
    for i, value in enumerate(uniques):
        results[i] = fn(value)
    return pd.Series(results[codes], index=col.index, dtype=object)


def _categorical(work: _Work, f: Field, rule: FieldRule) -> None:
    vocab = SCHEMA.vocabulary_of(f)
    overrides = {k: v for k, v in rule.values.items() if isinstance(v, str)}
    col = work.frame[rule.column]
    cov = work.coverage.setdefault(f.name, FieldCoverage())

    def one(text: str) -> object:
        if is_not_supplied(text):
            return None
        return match(vocab.name, text, overrides)

    codes = _map_distinct(col, one)
    blank = _not_supplied(col)
    unmapped = codes.isna() & ~blank
    cov.unmapped_values.update(col[unmapped].str.strip().value_counts().to_dict())
    _store_category(work, f, codes)


def _store_category(work: _Work, f: Field, codes: pd.Series) -> None:
    work.out[f.name] = codes.astype("object").where(codes.notna(), None)


def _parse_year(text: str, fmt: str | None) -> date | int | str | None:
    """A registration date (or bare year) from one cell; a string return is a reason code."""
    value = text.strip()
    if is_not_supplied(value):
        return None
    if value.isdigit() and len(value) == 4:
        return int(value)
    parsed = parse_date(value, fmt)
    return parsed if parsed is not None else "date-unparseable"


def _year(work: _Work, f: Field, rule: FieldRule) -> None:
    col = work.frame[rule.column]
    fmt = rule.date_format
    if fmt is None:
        detected = detect_format(col.unique().tolist())
        fmt = detected.format if detected else None
        if detected and detected.ambiguous:
            work.notes.append(f"{f.name}: no date in the column tells day from month; read as "
                              f"{detected.format} (the year is the same either way)")
    parsed = _map_distinct(col, lambda t: _parse_year(t, fmt))
    reason = _map_distinct(parsed, lambda v: isinstance(v, str)).astype(bool)
    work.reject(reason.to_numpy(dtype=bool), f.name, "date-unparseable")
    years = pd.to_numeric(
        _map_distinct(parsed.where(~reason), lambda v: v.year if isinstance(v, date) else v),
        errors="coerce")
    this_year = datetime.now(UTC).year
    out_of_range = years.notna() & ((years < (f.min or 1900)) | (years > this_year))
    work.reject(out_of_range.to_numpy(dtype=bool), f.name, "year-out-of-range")
    work.coverage.setdefault(f.name, FieldCoverage())
    work.out[f.name] = years.where(~out_of_range).astype("Int16")
    # Kept only in memory, to compute ages from birth dates; never stored.
    work.registered = _map_distinct(parsed, lambda v: v if isinstance(v, date) else
                                    (date(v, 7, 1) if isinstance(v, int) else None))


def _parse_age(text: str) -> float | str | None:
    value = text.strip().replace(",", ".")
    if is_not_supplied(value):
        return None
    try:
        age = float(value)
    except ValueError:
        return "unknown" if match("age_band", text) == "unknown" else "age-unparseable"
    return age if 0 <= age <= MAX_AGE else "age-out-of-range"


def _ages_from_birth(work: _Work, rule: FieldRule) -> pd.Series:
    """Age at registration from a birth date or birth year; the birth data is then dropped."""
    col = work.frame[rule.column]
    if rule.kind == "birth_year":
        births = pd.to_numeric(col.str.strip(), errors="coerce").map(
            lambda y: date(int(y), 7, 1) if pd.notna(y) and 1900 <= y <= 2100 else None)
    else:
        detected = detect_format(col.unique().tolist())
        fmt = rule.date_format or (detected.format if detected else None)
        births = _map_distinct(col, lambda t: None if is_not_supplied(t) else parse_date(t, fmt))
    registered = work.registered if work.registered is not None else pd.Series(
        None, index=col.index, dtype="object")

    def one(pair: tuple[date | None, date | None]) -> object:
        birth, on = pair
        if birth is None or on is None:
            return None
        return float(age_at(birth, on)) if birth <= on else "age-out-of-range"

    return pd.Series(list(zip(births, registered, strict=True)), index=col.index).map(one)


def _age(work: _Work, f: Field, rule: FieldRule) -> None:
    if rule.kind in (None, "band"):
        _categorical(work, f, rule)
        return
    col = work.frame[rule.column]
    work.coverage.setdefault(f.name, FieldCoverage())
    parsed = (_map_distinct(col, _parse_age) if rule.kind == "years"
              else _ages_from_birth(work, rule))
    for reason in ("age-unparseable", "age-out-of-range"):
        work.reject((parsed == reason).to_numpy(dtype=bool), f.name, reason)
    unknown = parsed == "unknown"
    text = _map_distinct(parsed, lambda v: isinstance(v, str)).astype(bool)
    ages = pd.to_numeric(parsed.where(~text), errors="coerce")
    bands = SCHEMA.vocabulary_of(f).values
    band = pd.Series(None, index=col.index, dtype="object")
    for v in bands:
        if v.unknown:
            continue
        lo, hi = int(v.extra["min"]), int(v.extra["max"])
        band[(ages >= lo) & (np.floor(ages) <= hi)] = v.code
    band[unknown] = "unknown"
    work.out[f.name] = band
    if "majority_status" not in work.out:
        majority = pd.Series(None, index=col.index, dtype="object")
        majority[ages >= ADULT_AGE] = "adult"
        majority[ages < ADULT_AGE] = "minor"
        majority[unknown] = "unknown"
        work.out["majority_status"] = majority


def _tokens(text: str, separator: str | None) -> list[str] | None:
    value = text.strip()
    if is_not_supplied(value):
        return None
    if separator == "json" or (separator is None and value.startswith("[")):
        try:
            items = json.loads(value)
        except ValueError:
            return [value]
        return [str(i) for i in items] if isinstance(items, list) else [str(items)]
    seps = [separator] if separator else [";", "|"]
    parts = [value]
    for sep in seps:
        parts = [p for chunk in parts for p in chunk.split(sep)]
    return [p.strip() for p in parts if p.strip()]


# A token in one group that names a value of a narrower group implies both, e.g. "forced
# begging" in a type-of-exploitation cell is forced labour in the begging sector.
IMPLIED_GROUPS = {
    "exploitation_type": (("labour_type", "forced_labour"),
                          ("sex_exploitation_type", "sexual_exploitation")),
}


def _multi_select(work: _Work, group: str, rule: FieldRule) -> None:
    overrides = {k: v for k, v in rule.values.items() if isinstance(v, str)}
    col = work.frame[rule.column]
    cov = work.coverage.setdefault(group, FieldCoverage())

    def one(text: str) -> tuple[frozenset[tuple[str, str]], tuple[str, ...]] | None:
        tokens = _tokens(text, rule.separator)
        if tokens is None:
            return None
        chosen: set[tuple[str, str]] = set()
        missed = []
        for token in tokens:
            code = match(group, token, overrides)
            if code is not None:
                chosen.add((group, code))
                continue
            for narrower, implied in IMPLIED_GROUPS.get(group, ()):
                sub = match(narrower, token)
                if sub is not None:
                    chosen |= {(group, implied), (narrower, sub)}
                    break
            else:
                missed.append(token)
        return frozenset(chosen), tuple(missed)

    # Each distinct cell is read once; rows take their flags from it by its factorize code.
    codes, uniques = pd.factorize(col, use_na_sentinel=False)
    parsed = [one(text) for text in uniques]
    supplied = np.array([p is not None for p in parsed], dtype=bool)[codes]
    for p, n in zip(parsed, np.bincount(codes, minlength=len(parsed)), strict=True):
        for token in p[1] if p is not None else ():
            cov.unmapped_values[token] += int(n)
    groups = {group} | {g for g, _ in IMPLIED_GROUPS.get(group, ())}
    for g in groups:
        for flag in SCHEMA.flags_of(g):
            if flag.derived:
                continue
            key = (g, flag.code)
            hit = np.array([p is not None and key in p[0] for p in parsed], dtype=bool)[codes]
            # A supplied cell says "no" to every value it does not list (of its own group);
            # an implied group only learns a "yes".
            known = supplied if g == group else supplied & hit
            values = pd.Series(pd.arrays.BooleanArray(hit & known, ~known), index=col.index)
            _merge_flag(work, flag.name, values)


def _merge_flag(work: _Work, name: str, values: pd.Series) -> None:
    """Combine flags filled by several rules: True wins, then False, then missing.

    Not pandas' ``|``: in Kleene logic NA | False is NA, which would lose a partner's "no".
    """
    if name in work.out:
        old = work.out[name].astype("boolean")
        new = old.copy()
        new[values.fillna(False).astype(bool)] = True
        gap = old.isna() & values.notna()
        new[gap] = values[gap]
        values = new
    work.out[name] = values


def _single_flag(work: _Work, f: Field, rule: FieldRule) -> None:
    overrides = {normalise_token(k): v for k, v in rule.values.items() if isinstance(v, bool)}

    def one(text: str) -> bool | None:
        key = normalise_token(text)
        if key in overrides:
            return overrides[key]
        if key in YES:
            return True
        if key in NO:
            return False
        return None

    col = work.frame[rule.column]
    values = _map_distinct(col, one).astype("boolean")
    cov = work.coverage.setdefault(f.name, FieldCoverage())
    unmapped = values.isna() & ~_not_supplied(col)
    cov.unmapped_values.update(col[unmapped].str.strip().value_counts().to_dict())
    _merge_flag(work, f.name, values)


def _derive(work: _Work) -> None:
    """Flags the schema computes rather than maps (isSexAndLabour)."""
    labour = work.out.get("is_forced_labour")
    sexual = work.out.get("is_sexual_exploit")
    if labour is not None and sexual is not None:
        work.out["is_sex_and_labour"] = (labour.astype("boolean") & sexual.astype("boolean"))


def harmonize(
    frame: pd.DataFrame,
    source_rows: list[int] | tuple[int, ...],
    mapping: Mapping,
    *,
    org_id: int,
    secret: bytes,
) -> Harmonized:
    """Turn a partner table (all strings) into internal-form cases using ``mapping``."""
    missing = [c for c in mapping.columns if c not in frame.columns]
    if missing:
        raise MappingDoesNotFit(
            f"the file has no column(s) {', '.join(repr(c) for c in missing)} named in mapping "
            f"{mapping.mapping_version}",
            hint="check the header row or run `ctcollab mapping suggest FILE`")
    work = _Work(frame.reset_index(drop=True), list(source_rows))

    ids = work.frame[mapping.case_id].str.strip()
    work.reject(_not_supplied(ids), "case_id", "case-id-missing")
    dup = ids.duplicated(keep="first") & ~work.bad
    work.reject(dup.to_numpy(dtype=bool), "case_id", "case-id-duplicate")

    # Registration dates first: ages from birth dates are computed at registration.
    ordered = sorted(mapping.fields.items(), key=lambda kv: kv[0] != "year_of_registration")
    for name, rule in ordered:
        if name in MULTI_SELECT:
            _multi_select(work, name, rule)
            continue
        f = SCHEMA.field(name)
        if f.type == "year":
            _year(work, f, rule)
        elif f.name == "age_broad":
            _age(work, f, rule)
        elif f.type in ("category", "country"):
            _categorical(work, f, rule)
        elif f.type == "flag":
            _single_flag(work, f, rule)
    for name, code in mapping.constants.items():
        work.out[name] = pd.Series(code, index=work.frame.index, dtype="object")
    _derive(work)

    keep = ~work.bad
    cases = pd.DataFrame(index=work.frame.index[keep])
    keys = case_keys(secret, org_id, ids[keep].tolist())
    cases["case_key"] = pd.Series(keys, index=cases.index, dtype="string")
    if mapping.linkage:
        values = work.frame.loc[keep, list(mapping.linkage)].astype(str).to_numpy().tolist()
        cases["linkage_key"] = pd.Series([linkage_key(secret, v) for v in values],
                                         index=cases.index, dtype="string")
    for f in SCHEMA.case_fields:
        if f.name in work.out:
            cases[f.name] = work.out[f.name][keep].astype(pandas_dtype(f))  # type: ignore[call-overload]
    _count_coverage(work, cases)
    return Harmonized(cases=cases.reset_index(drop=True), quarantine=work.quarantine,
                      coverage=work.coverage, rows_read=work.n,
                      mapping_version=mapping.mapping_version, notes=work.notes)


def _count_coverage(work: _Work, cases: pd.DataFrame) -> None:
    """Per mapped target: accepted cases with a value, with an explicit unknown, or with nothing."""
    n = len(cases)
    for name, cov in work.coverage.items():
        vocab = SCHEMA.vocabularies.get(name)
        if vocab is not None and vocab.multi_select and name in MULTI_SELECT:
            flags = [f for f in SCHEMA.flags_of(name) if f.name in cases.columns]
            supplied = cases[[f.name for f in flags]].notna().any(axis=1)
            unknown_flags = [f.name for f in flags if vocab.value(f.code or "").unknown]
            unknown = (cases[unknown_flags].fillna(False).any(axis=1) if unknown_flags
                       else pd.Series(False, index=cases.index))
        elif name in cases.columns:
            supplied = cases[name].notna()
            unknown = cases[name].astype("object") == "unknown"
        else:
            continue
        cov.unknown = int(unknown.sum())
        cov.mapped = int(supplied.sum()) - cov.unknown
        cov.not_supplied = n - int(supplied.sum())

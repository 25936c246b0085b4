"""Apply a mapping to a partner table: common-schema case rows, quarantine and a coverage report.

Work is done per distinct value, not per row, so a million-row extract with a few hundred
distinct labels per column costs a few hundred look-ups. Each source column is factorized
once; its results stay as a small table per distinct value plus the rows' codes until the
``cases`` frame is built in one step from numpy/Arrow arrays (see ``_Values``).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from harmonize.dates import age_at, detect_format, parse_date
from harmonize.errors import MappingDoesNotFit
from harmonize.linkage import known, normalise_name, parse_birth_date, parse_birth_year
from harmonize.mapping import MULTI_SELECT, FieldRule, Linkage, Mapping
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


def opaque_linkage_key(secret: bytes, parts: list[str]) -> str | None:
    """The key of the old list form of ``linkage``: HMAC-SHA256 over the normalised values of
    the listed columns, whatever they hold.

    Missing when any part is missing: a partial key would link different people.
    """
    tokens = [normalise_token(p) for p in parts]
    if any(not t for t in tokens):
        return None
    message = "link\x1f" + "\x1f".join(tokens)
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


_KEY_PREFIX = b"person\x1f"
_YEAR_KEY_PREFIX = b"person-year\x1f"


def linkage_key(secret: bytes, name: str | None, birth: date | None) -> str | None:
    """HMAC-SHA256 over a normalised name (``linkage.normalise_name``) and a date of birth."""
    if not name or birth is None:
        return None
    return hmac.new(secret, _KEY_PREFIX + f"{name}\x1f{birth.isoformat()}".encode(),
                    hashlib.sha256).hexdigest()


def linkage_key_year(secret: bytes, name: str | None, year: int | None,
                     citizenship: str | None) -> str | None:
    """HMAC-SHA256 over a normalised name, a year of birth and an ISO alpha-3 citizenship.

    Missing when any part is missing or the citizenship is the vocabulary's unknown.
    """
    country = known("citizenship", citizenship)
    if not name or year is None or country is None:
        return None
    return hmac.new(secret, _YEAR_KEY_PREFIX + f"{name}\x1f{year:04d}\x1f{country}".encode(),
                    hashlib.sha256).hexdigest()


def case_key(secret: bytes, org_id: int, local_id: str) -> str:
    """HMAC-SHA256 over organisation and local case id: stable, not reversible without the key."""
    message = f"{org_id}\x1f{local_id.strip()}".encode()
    return hmac.digest(secret, message, "sha256").hex()


def case_keys(secret: bytes, org_id: int, local_ids: Iterable[str]) -> list[str]:
    """``case_key`` of many ids (see ``_case_digests``)."""
    hexed = binascii.hexlify(_case_digests(secret, org_id, local_ids)).decode("ascii")
    return [hexed[i:i + _HEX_LENGTH] for i in range(0, len(hexed), _HEX_LENGTH)]


def _case_digests(secret: bytes, org_id: int, local_ids: Iterable[str]) -> bytes:
    """The HMAC-SHA256 digests of ``case_key`` for many ids, concatenated (32 bytes each).

    One HMAC per id is inherent; what is not is its set-up: the keyed pads and the
    organisation prefix are hashed once (RFC 2104), then copied for each id — about four
    times as fast as ``hmac.digest`` per id. Hex comes once, over all the digests.
    """
    # UTF-8 of a concatenation is the concatenation of the UTF-8s.
    inner, outer = _hmac_pads(secret, f"{org_id}\x1f".encode())
    inner_copy, outer_copy = inner.copy, outer.copy
    digests: list[bytes] = []
    append = digests.append
    for local_id in local_ids:
        digest = inner_copy()
        digest.update(local_id.strip().encode())
        final = outer_copy()
        final.update(digest.digest())
        append(final.digest())
    return b"".join(digests)


def _hmac_pads(secret: bytes, prefix: bytes) -> tuple[Any, Any]:
    """HMAC-SHA256's inner hash (keyed pad and ``prefix`` already hashed) and outer hash."""
    key = hashlib.sha256(secret).digest() if len(secret) > _SHA256_BLOCK else secret
    key = key.ljust(_SHA256_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    inner.update(prefix)
    return inner, outer


def _hmac_hex(secret: bytes, prefix: bytes, messages: Iterable[str | None]) -> list[str | None]:
    """``hmac.new(secret, prefix + m).hexdigest()`` of many messages (None stays None), with
    the pads hashed once as in ``_case_digests``."""
    inner, outer = _hmac_pads(secret, prefix)
    out: list[str | None] = []
    for message in messages:
        if message is None:
            out.append(None)
            continue
        digest = inner.copy()
        digest.update(message.encode())
        final = outer.copy()
        final.update(digest.digest())
        out.append(final.hexdigest())
    return out


def _case_key_array(secret: bytes, org_id: int, local_ids: Iterable[str]) -> Any:
    """``case_key`` of many ids as a pandas ``string`` array, built from one buffer of hex."""
    hexed = binascii.hexlify(_case_digests(secret, org_id, local_ids))
    count = len(hexed) // _HEX_LENGTH
    dtype = pd.StringDtype()
    if dtype.storage != "pyarrow":
        return pd.array(_keys_from_hex(hexed), dtype=dtype)
    offsets = np.arange(0, _HEX_LENGTH * (count + 1), _HEX_LENGTH, dtype=np.int64)
    keys = pa.LargeStringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(hexed))
    return pd.arrays.ArrowStringArray(pa.chunked_array([keys], type=pa.large_string()))


def _keys_from_hex(hexed: bytes) -> list[str]:
    text = hexed.decode("ascii")
    return [text[i:i + _HEX_LENGTH] for i in range(0, len(text), _HEX_LENGTH)]


_SHA256_BLOCK = 64
_HEX_LENGTH = 64


@dataclass
class _Values:
    """One output field, row ``i`` having ``table[codes[i]]`` (or ``table[i]`` without codes).

    Carried as factorize codes into a small table of per-distinct-value results until the
    ``cases`` frame is built, so nothing is done a million times that can be done a hundred.
    ``kind`` says what the table holds:
    - "category": codes (str) or None, in an object array;
    - "flag": int8, -1 missing, 0 False, 1 True (so merging flags is a maximum);
    - "year": float64, NaN missing.
    """

    kind: Literal["category", "flag", "year"]
    table: np.ndarray
    codes: np.ndarray | None = None

    def rows(self) -> np.ndarray:
        rows: np.ndarray = self.table if self.codes is None else self.table[self.codes]
        return rows

    def series(self) -> pd.Series:
        """The value as the committed code held it (for the rare paths that need pandas)."""
        rows = self.rows()
        if self.kind == "flag":
            return pd.Series(pd.arrays.BooleanArray(rows == 1, rows == -1))
        if self.kind == "year":
            return pd.Series(rows).astype("Int16")
        return pd.Series(rows, dtype=object)


_Out: TypeAlias = "_Values | pd.Series"


class _Work:
    """Mutable state of one harmonisation run."""

    def __init__(self, frame: pd.DataFrame, source_rows: list[int]) -> None:
        self.frame = frame
        self.source_rows = np.asarray(source_rows)
        self.n = len(frame)
        self.bad = np.zeros(self.n, dtype=bool)
        self.quarantine: list[QuarantinedRow] = []
        self.out: dict[str, _Out] = {}
        self.coverage: dict[str, FieldCoverage] = {}
        self.notes: list[str] = []
        # per row: registration dates as codes into a table of dates / None
        self.registered: tuple[np.ndarray, np.ndarray] | None = None
        self._factorized: dict[str, tuple[np.ndarray, np.ndarray, Any]] = {}

    def reject(self, mask: np.ndarray, field_name: str, reason: str) -> None:
        mask = mask & ~self.bad
        for i in np.flatnonzero(mask):
            self.quarantine.append(QuarantinedRow(int(self.source_rows[i]), field_name, reason))
        self.bad |= mask

    def factorize(self, column: str) -> tuple[np.ndarray, np.ndarray, Any]:
        """Codes per row, distinct values (object array) and those values as pandas has them."""
        if column not in self._factorized:
            codes, uniques = _factorize(self.frame[column])
            self._factorized[column] = (codes, np.asarray(uniques, dtype=object), uniques)
        return self._factorized[column]


_STRIP = np.frompyfunc(str.strip, 1, 1)


def _strip(col: pd.Series) -> pd.Series:
    """``col.str.strip()``; for an object column of str, without pandas' missing-value pass."""
    if col.dtype == object and len(col):
        try:
            return pd.Series(_STRIP(col.to_numpy()), index=col.index, name=col.name,
                             dtype=object)
        except TypeError:  # not all str: let pandas say what it says
            pass
    return col.str.strip()


def _factorize(col: pd.Series) -> tuple[np.ndarray, Any]:
    """``pd.factorize(col, use_na_sentinel=False)``: missing values get a code of their own.

    Asked for directly, pandas first runs ``isna`` over an object column, as long as the
    factorizing itself; so factorize with the sentinel, and only if a value is missing
    (never, in a table of strings) again without it.
    """
    codes, uniques = pd.factorize(col)
    if len(codes) and codes.min() < 0:
        codes, uniques = pd.factorize(col, use_na_sentinel=False)
    return np.asarray(codes), uniques


# normalise_token's separators as they occur in ASCII text (Python's \s takes in \x1c-\x1f)
_ASCII_SEPARATOR = r"[ \t\n\r\x0b\x0c\x1c-\x1f_\-/'.,;:()]"


def _not_supplied_pattern() -> str:
    """An ASCII cell is not supplied iff it matches this: separators, at most one of the
    NOT_SUPPLIED tokens (its words joined by runs of separators, any case), separators.

    That is normalise_token's folding of ASCII text (lower-case, separator runs to one space,
    trimmed) followed by a set look-up, without building the folded text.
    """
    tokens = sorted(t for t in NOT_SUPPLIED if t)
    for token in tokens:
        if not all(word.isascii() and word.isalnum() for word in token.split(" ")):
            raise AssertionError(f"not-supplied token {token!r} needs the general path")
    words = "|".join(f"{_ASCII_SEPARATOR}+".join(token.split(" ")) for token in tokens)
    return f"(?i)^{_ASCII_SEPARATOR}*(?:{words})?{_ASCII_SEPARATOR}*$"


_NOT_SUPPLIED_ASCII = _not_supplied_pattern()
_VECTORISE_FROM = 10_000


def _not_supplied_values(values: np.ndarray) -> np.ndarray:
    """``is_not_supplied`` of each of many distinct values, as a mask.

    A column of a million distinct case ids has a million distinct values; for those in
    ASCII text one regular expression (Arrow's RE2) answers for all at once. Other text goes
    through normalise_token itself.
    """
    if len(values) < _VECTORISE_FROM:
        return np.array([is_not_supplied(v) for v in values], dtype=bool)
    text = pa.array(values, type=pa.large_string())
    ascii_text = pc.string_is_ascii(text)
    mask = pc.and_(ascii_text, pc.match_substring_regex(text, _NOT_SUPPLIED_ASCII))
    flags: np.ndarray = mask.to_numpy(zero_copy_only=False).astype(bool)
    for i in np.flatnonzero(~ascii_text.to_numpy(zero_copy_only=False).astype(bool)):
        flags[i] = is_not_supplied(values[i])
    return flags


def _repeats(codes: np.ndarray) -> np.ndarray:
    """``duplicated(keep="first")`` from factorize codes (numbered in order of appearance)."""
    repeat = np.zeros(len(codes), dtype=bool)
    if len(codes) > 1:
        repeat[1:] = codes[1:] <= np.maximum.accumulate(codes)[:-1]
    return repeat


def _count_unmapped(work: _Work, cov: FieldCoverage, column: str, unmapped: np.ndarray,
                    codes: np.ndarray) -> None:
    """Add the stripped source values of the unmapped distinct values, with their counts."""
    if unmapped.any():
        rows = unmapped[codes]
        cov.unmapped_values.update(
            work.frame[column][rows].str.strip().value_counts().to_dict())


def _categorical(work: _Work, f: Field, rule: FieldRule) -> None:
    vocab = SCHEMA.vocabulary_of(f)
    overrides = {k: v for k, v in rule.values.items() if isinstance(v, str)}
    cov = work.coverage.setdefault(f.name, FieldCoverage())
    codes, uniques, _ = work.factorize(rule.column)
    blank = _not_supplied_values(uniques)
    table = np.empty(len(uniques), dtype=object)
    for i, text in enumerate(uniques):
        # blank[i] is is_not_supplied(text) (vectorised for many values, same answer)
        table[i] = None if blank[i] else match(vocab.name, text, overrides)
    unmapped = np.array([v is None for v in table], dtype=bool) & ~blank
    _count_unmapped(work, cov, rule.column, unmapped, codes)
    work.out[f.name] = _Values("category", table, codes)


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
    codes, uniques, _ = work.factorize(rule.column)
    parsed = [_parse_year(t, fmt) for t in uniques]
    reason = np.array([isinstance(v, str) for v in parsed], dtype=bool)
    work.reject(reason[codes], f.name, "date-unparseable")
    years = np.array([float(v.year) if isinstance(v, date) else
                      float(v) if isinstance(v, int) else np.nan for v in parsed],
                     dtype=np.float64)
    this_year = datetime.now(UTC).year
    out_of_range = ~np.isnan(years) & ((years < (f.min or 1900)) | (years > this_year))
    work.reject(out_of_range[codes], f.name, "year-out-of-range")
    work.coverage.setdefault(f.name, FieldCoverage())
    work.out[f.name] = _Values("year", np.where(out_of_range, np.nan, years), codes)
    # Kept only in memory, to compute ages from birth dates; never stored.
    registered = np.empty(len(parsed), dtype=object)
    for i, v in enumerate(parsed):
        registered[i] = v if isinstance(v, date) else (
            date(v, 7, 1) if isinstance(v, int) else None)
    work.registered = (codes, registered)


def _parse_age(text: str) -> float | str | None:
    value = text.strip().replace(",", ".")
    if is_not_supplied(value):
        return None
    try:
        age = float(value)
    except ValueError:
        return "unknown" if match("age_band", text) == "unknown" else "age-unparseable"
    return age if 0 <= age <= MAX_AGE else "age-out-of-range"


def _ages_from_birth(work: _Work, rule: FieldRule) -> tuple[np.ndarray, list[object]]:
    """Age at registration from a birth date or birth year; the birth data is then dropped.

    Per distinct (birth, registration) pair: codes per row and the age (or reason) of each.
    """
    col = work.frame[rule.column]
    codes, uniques, raw = work.factorize(rule.column)
    births: list[date | None]
    if rule.kind == "birth_year":
        years = pd.to_numeric(pd.Series(raw).str.strip(), errors="coerce")
        births = [date(int(y), 7, 1) if pd.notna(y) and 1900 <= y <= 2100 else None
                  for y in years]
    else:
        detected = detect_format(col.unique().tolist())
        fmt = rule.date_format or (detected.format if detected else None)
        births = [None if is_not_supplied(t) else parse_date(t, fmt) for t in uniques]
    if work.registered is None:
        # No registration date, no age.
        return codes, [None] * len(births)
    on_codes, on_dates = work.registered
    width = max(len(on_dates), 1)
    pair_codes, pairs = pd.factorize(codes.astype(np.int64) * width + on_codes)
    ages: list[object] = []
    for pair in np.asarray(pairs).tolist():
        birth, on = births[pair // width], on_dates[pair % width]
        if birth is None or on is None:
            ages.append(None)
        else:
            ages.append(float(age_at(birth, on)) if birth <= on else "age-out-of-range")
    return np.asarray(pair_codes), ages


def _age(work: _Work, f: Field, rule: FieldRule) -> None:
    if rule.kind in (None, "band"):
        _categorical(work, f, rule)
        return
    work.coverage.setdefault(f.name, FieldCoverage())
    parsed: list[object]
    if rule.kind == "years":
        codes, uniques, _ = work.factorize(rule.column)
        parsed = [_parse_age(t) for t in uniques]
    else:
        codes, parsed = _ages_from_birth(work, rule)
    for reason in ("age-unparseable", "age-out-of-range"):
        hit = np.array([isinstance(v, str) and v == reason for v in parsed], dtype=bool)
        work.reject(hit[codes], f.name, reason)
    unknown = np.array([isinstance(v, str) and v == "unknown" for v in parsed], dtype=bool)
    ages = np.array([np.nan if v is None or isinstance(v, str) else v for v in parsed],
                    dtype=np.float64)
    band = np.full(len(parsed), None, dtype=object)
    for v in SCHEMA.vocabulary_of(f).values:
        if v.unknown:
            continue
        lo, hi = int(v.extra["min"]), int(v.extra["max"])
        band[(ages >= lo) & (np.floor(ages) <= hi)] = v.code
    band[unknown] = "unknown"
    work.out[f.name] = _Values("category", band, codes)
    if "majority_status" not in work.out:
        majority = np.full(len(parsed), None, dtype=object)
        majority[ages >= ADULT_AGE] = "adult"
        majority[ages < ADULT_AGE] = "minor"
        majority[unknown] = "unknown"
        work.out["majority_status"] = _Values("category", majority, codes)


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
    codes, uniques, _ = work.factorize(rule.column)
    parsed = [one(text) for text in uniques]
    supplied = np.array([p is not None for p in parsed], dtype=bool)
    for p, n in zip(parsed, np.bincount(codes, minlength=len(parsed)), strict=True):
        for token in p[1] if p is not None else ():
            cov.unmapped_values[token] += int(n)
    groups = {group} | {g for g, _ in IMPLIED_GROUPS.get(group, ())}
    for g in groups:
        for flag in SCHEMA.flags_of(g):
            if flag.derived:
                continue
            key = (g, flag.code)
            hit = np.array([p is not None and key in p[0] for p in parsed], dtype=bool)
            # A supplied cell says "no" to every value it does not list (of its own group);
            # an implied group only learns a "yes".
            known = supplied if g == group else hit
            table = np.where(known, hit, -1).astype(np.int8)
            _merge_flag(work, flag.name, _Values("flag", table, codes))


def _merge_flag(work: _Work, name: str, values: _Values) -> None:
    """Combine flags filled by several rules: True wins, then False, then missing.

    Not pandas' ``|``: in Kleene logic NA | False is NA, which would lose a partner's "no".
    With missing as -1, False as 0 and True as 1 the rule is the maximum.
    """
    old = work.out.get(name)
    if old is None:
        work.out[name] = values
    elif isinstance(old, _Values) and old.kind == "flag":
        if old.codes is values.codes:  # both read from the same column
            work.out[name] = _Values("flag", np.maximum(old.table, values.table), old.codes)
        else:
            work.out[name] = _Values("flag", np.maximum(old.rows(), values.rows()))
    else:
        previous = (old if isinstance(old, pd.Series) else old.series()).astype("boolean")
        new = values.series()
        merged = previous.copy()
        merged[new.fillna(False).astype(bool)] = True
        gap = previous.isna() & new.notna()
        merged[gap] = new[gap]
        work.out[name] = merged


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

    codes, uniques, _ = work.factorize(rule.column)
    values = [one(text) for text in uniques]
    table = np.array([-1 if v is None else int(v) for v in values], dtype=np.int8)
    cov = work.coverage.setdefault(f.name, FieldCoverage())
    unmapped = (table == -1) & ~_not_supplied_values(uniques)
    _count_unmapped(work, cov, rule.column, unmapped, codes)
    _merge_flag(work, f.name, _Values("flag", table, codes))


def _derive(work: _Work) -> None:
    """Flags the schema computes rather than maps (isSexAndLabour)."""
    labour = work.out.get("is_forced_labour")
    sexual = work.out.get("is_sexual_exploit")
    if labour is None or sexual is None:
        return
    if (isinstance(labour, _Values) and labour.kind == "flag"
            and isinstance(sexual, _Values) and sexual.kind == "flag"):
        # Kleene AND: False if either is False, True if both are True, else missing.
        same = labour.codes is sexual.codes
        a, b = (labour.table, sexual.table) if same else (labour.rows(), sexual.rows())
        both = np.where((a == 0) | (b == 0), 0, np.where((a == 1) & (b == 1), 1, -1))
        work.out["is_sex_and_labour"] = _Values(
            "flag", both.astype(np.int8), labour.codes if same else None)
        return
    as_series = [v if isinstance(v, pd.Series) else v.series() for v in (labour, sexual)]
    work.out["is_sex_and_labour"] = (
        as_series[0].astype("boolean") & as_series[1].astype("boolean"))


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

    ids = _strip(work.frame[mapping.case_id])
    id_codes, id_uniques = _factorize(ids)
    missing_id = _not_supplied_values(np.asarray(id_uniques, dtype=object))
    work.reject(missing_id[id_codes], "case_id", "case-id-missing")
    work.reject(_repeats(id_codes) & ~work.bad, "case_id", "case-id-duplicate")

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
        if isinstance(pandas_dtype(SCHEMA.field(name)), pd.CategoricalDtype):
            work.out[name] = _Values("category", np.array([code], dtype=object),
                                     np.zeros(work.n, dtype=np.intp))
        else:
            work.out[name] = pd.Series(code, index=work.frame.index, dtype="object")
    _derive(work)

    keep = ~work.bad
    kept = np.flatnonzero(keep)
    # The cases frame is built once, from arrays: each output's table is taken at the codes
    # of the kept rows (one take per column; codes shared by several outputs taken once).
    columns: dict[str, Any] = {
        "case_key": _case_key_array(secret, org_id, ids.to_numpy(dtype=object)[kept])}
    if mapping.linkage is not None:
        columns.update(_linkage(work, mapping.linkage, kept, secret))
    taken: dict[int, np.ndarray] = {}
    for f in SCHEMA.case_fields:
        if f.name in work.out:
            columns[f.name] = _column(work.out[f.name], keep, kept, pandas_dtype(f), taken)
    cases = pd.DataFrame(columns, index=pd.RangeIndex(len(kept)), copy=False)
    _count_coverage(work, cases)
    return Harmonized(cases=cases, quarantine=work.quarantine,
                      coverage=work.coverage, rows_read=work.n,
                      mapping_version=mapping.mapping_version, notes=work.notes)


def _linkage(work: _Work, linkage: Linkage, kept: np.ndarray, secret: bytes
             ) -> dict[str, Any]:
    """The kept rows' linkage keys, per distinct (name, birth, citizenship) combination.

    The identifying cells are read here and nowhere else; only the HMACs leave. A cell that
    does not read (a date that is no date, a placeholder name) costs the key, not the case.
    """
    if linkage.columns:  # the old list form: one opaque key over the listed values
        values = work.frame.iloc[kept][list(linkage.columns)].astype(str).to_numpy().tolist()
        return {"linkage_key": pd.array([opaque_linkage_key(secret, v) for v in values],
                                        dtype="string")}
    name_codes, names = _names(work, linkage.name, kept)
    birth_codes = np.zeros(len(kept), dtype=np.int64)
    births: list[date | None] = [None]
    if linkage.birth_date is not None:
        rule = linkage.birth_date
        codes, uniques, _ = work.factorize(rule.column)
        fmt = rule.date_format
        if fmt is None:
            detected = detect_format([str(u) for u in uniques])
            fmt = detected.format if detected else None
            if detected and detected.ambiguous:
                work.notes.append("linkage: no date of birth in the column tells day from "
                                  f"month; read as {detected.format}")
        births = [parse_birth_date(str(u), fmt) for u in uniques]
        birth_codes = codes[kept].astype(np.int64)
    years = np.array([b.year if b is not None else -1 for b in births], dtype=np.int64)
    year_rows = years[birth_codes]
    if linkage.birth_year is not None:
        codes, uniques, _ = work.factorize(linkage.birth_year)
        stated = np.array([y if (y := parse_birth_year(str(u))) is not None else -1
                           for u in uniques], dtype=np.int64)[codes[kept]]
        # A readable date of birth is the more precise: the stated year fills its gaps.
        year_rows = np.where(year_rows >= 0, year_rows, stated)
    citizenship = work.out.get("citizenship")
    if citizenship is None:
        countries = np.full(len(kept), None, dtype=object)
    elif isinstance(citizenship, pd.Series):
        countries = citizenship.to_numpy(dtype=object)[kept]
    else:
        countries = citizenship.rows()[kept]
    countries = np.array([known("citizenship", c) for c in countries], dtype=object)

    width = len(births)
    pair_codes, pairs = pd.factorize(name_codes * width + birth_codes)
    messages = []
    for pair in np.asarray(pairs).tolist():
        name, birth = names[pair // width], births[pair % width]
        messages.append(None if name is None or birth is None
                        else f"{name}\x1f{birth.isoformat()}")
    full = np.array(_hmac_hex(secret, _KEY_PREFIX, messages), dtype=object)[pair_codes]
    triples = pd.MultiIndex.from_arrays([name_codes, year_rows, countries])
    triple_codes, distinct = pd.factorize(triples)
    messages = []
    for n, y, c in distinct:
        name = names[n]
        messages.append(None if name is None or y < 0 or not isinstance(c, str)
                        else f"{name}\x1f{int(y):04d}\x1f{c}")
    by_year = np.array(_hmac_hex(secret, _YEAR_KEY_PREFIX, messages),
                       dtype=object)[triple_codes]
    return {"linkage_key": pd.array(full, dtype="string"),
            "linkage_key_year": pd.array(by_year, dtype="string")}


def _names(work: _Work, columns: tuple[str, ...], kept: np.ndarray
           ) -> tuple[np.ndarray, list[str | None]]:
    """Per kept row a code into a list of distinct normalised names (None: no name)."""
    parts = [work.factorize(c) for c in columns]
    if len(parts) == 1:
        codes, uniques, _ = parts[0]
        return codes[kept].astype(np.int64), [normalise_name([str(u)]) for u in uniques]
    stacked = np.column_stack([codes[kept] for codes, _, _ in parts])
    distinct, inverse = np.unique(stacked, axis=0, return_inverse=True)
    names = [normalise_name([str(parts[k][1][i]) for k, i in enumerate(row)])
             for row in distinct.tolist()]
    return np.asarray(inverse, dtype=np.int64).reshape(-1), names


def _column(value: _Out, keep: np.ndarray, kept: np.ndarray, dtype: Any,
            taken: dict[int, np.ndarray]) -> Any:
    """The kept rows of one output, as an array of the field's stored dtype."""
    if isinstance(value, pd.Series):
        return value[keep].astype(dtype).array
    if value.codes is None:
        table, at = value.table, kept
    else:
        table = value.table
        key = id(value.codes)
        if key not in taken:
            taken[key] = value.codes[kept]
        at = taken[key]
    if value.kind == "category" and isinstance(dtype, pd.CategoricalDtype):
        position = {c: i for i, c in enumerate(dtype.categories)}
        width = np.int8 if len(position) < np.iinfo(np.int8).max else np.int16 if len(
            position) < np.iinfo(np.int16).max else np.int32
        positions = np.array([position.get(v, -1) if isinstance(v, str) else -1
                              for v in table], dtype=width)
        return pd.Categorical.from_codes(positions[at], dtype=dtype)
    if value.kind == "flag" and dtype == "boolean":
        flags = table[at]
        return pd.arrays.BooleanArray(flags == 1, flags == -1)
    if value.kind == "year" and dtype == "Int16":
        missing = np.isnan(table)
        years = np.where(missing, 0, table).astype(np.int16)
        return pd.arrays.IntegerArray(years[at], missing[at])
    return value.series()[keep].astype(dtype).array


def _count_coverage(work: _Work, cases: pd.DataFrame) -> None:
    """Per mapped target: accepted cases with a value, with an explicit unknown, or with nothing."""
    n = len(cases)
    for name, cov in work.coverage.items():
        vocab = SCHEMA.vocabularies.get(name)
        if vocab is not None and vocab.multi_select and name in MULTI_SELECT:
            flags = [f for f in SCHEMA.flags_of(name) if f.name in cases.columns]
            supplied = np.zeros(n, dtype=bool)
            unknown = np.zeros(n, dtype=bool)
            for f in flags:
                supplied |= _notna(cases[f.name])
                if vocab.value(f.code or "").unknown:
                    unknown |= cases[f.name].fillna(False).to_numpy(dtype=bool)
        elif name in cases.columns:
            supplied = _notna(cases[name])
            unknown = _is_unknown(cases[name])
        else:
            continue
        cov.unknown = int(unknown.sum())
        cov.mapped = int(supplied.sum()) - cov.unknown
        cov.not_supplied = n - int(supplied.sum())


def _notna(col: pd.Series) -> np.ndarray:
    return ~np.asarray(col.array.isna(), dtype=bool)


def _is_unknown(col: pd.Series) -> np.ndarray:
    """``col == "unknown"``; only a category can hold that."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        categories = col.cat.categories
        if "unknown" not in categories:
            return np.zeros(len(col), dtype=bool)
        return np.asarray(col.cat.codes.to_numpy() == categories.get_loc("unknown"))
    if isinstance(col.dtype, (pd.BooleanDtype, pd.Int16Dtype)):
        return np.zeros(len(col), dtype=bool)
    return np.asarray(col.astype("object") == "unknown", dtype=bool)

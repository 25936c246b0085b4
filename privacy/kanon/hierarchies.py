"""Generalisation hierarchies of quasi-identifiers, derived as data from the schema vocabularies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy.kanon.errors import OutsideDomain
from schemas.definition import SCHEMA, Schema, Vocabulary
from schemas.errors import SchemaDefinitionError

MISSING: Final = ""
"""Key and label of a value the partner never supplied (an empty cell in CTDC files)."""
SUPPRESSED: Final = "*"
"""The top level's label: the value is withheld."""

# Broader age bands CTDC's narrow bands roll up into (inclusive bounds; None = open).
BROAD_AGE_BANDS: Final[tuple[tuple[int, int | None], ...]] = (
    (0, 17), (18, 29), (30, 47), (48, None))
MAJORITY_AGE: Final = 18
# Years roll up into 5-year periods aligned on multiples of 5 (2015-2019); inside each, the
# 2-year periods start with the period, so the fifth year joins the second pair (2017-2019):
# 2-year periods that straddled a 5-year boundary would break the hierarchy's nesting.
PERIOD: Final = 5

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Hierarchy:
    """The generalisation levels of one field: ``labels[level][i]`` is ``keys[i]`` at ``level``.

    A table with one row per value of the field's public domain (its *key*: the internal
    code, the year as text, ``true``/``false`` for flags, ``""`` for not supplied) and one
    column per level. Level 0 is the value's own CTDC label; the top level is ``*`` for every
    key. Each level must be a function of the one below: generalising then only merges
    equivalence classes, which is what makes k-anonymity monotone over the lattice.
    """

    field: str
    level_names: tuple[str, ...]
    keys: tuple[str, ...]
    labels: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        problem = hierarchy_problem(self)
        if problem is not None:
            raise SchemaDefinitionError(f"hierarchy of {self.field}: {problem}")

    @property
    def top(self) -> int:
        """The highest level (everything suppressed)."""
        return len(self.labels) - 1

    def label(self, key: str, level: int) -> str:
        return self.labels[level][self.keys.index(key)]

    def mapping(self, level: int) -> dict[str, str]:
        """Key -> published label at ``level``."""
        return dict(zip(self.keys, self.labels[level], strict=True))

    def categories(self, level: int) -> tuple[str, ...]:
        """The labels a published column can hold at ``level`` (missing excluded), in order."""
        return tuple(dict.fromkeys(label for label in self.labels[level] if label != MISSING))

    @cached_property
    def _group_codes(self) -> tuple[IntArray, ...]:
        # The label *is* the equivalence: two keys are in one group iff they publish the same.
        return tuple(pd.factorize(pd.Index(level, dtype=object))[0].astype(np.int64)
                     for level in self.labels)

    def group_codes(self, level: int) -> IntArray:
        """For each key, the index of its group (distinct label) at ``level``."""
        return self._group_codes[level]

    def groups(self, level: int) -> int:
        return int(self._group_codes[level].max()) + 1

    @cached_property
    def _ncp(self) -> tuple[FloatArray, ...]:
        out = []
        for codes in self._group_codes:
            sizes = np.bincount(codes)[codes]
            out.append((sizes - 1) / (len(self.keys) - 1))
        return tuple(out)

    def ncp(self, level: int) -> FloatArray:
        """Normalised certainty penalty of each key at ``level``: (|group| - 1) / (|domain| - 1).

        0 for a value published as itself, 1 for ``*``. The domain is the public one (the
        vocabulary plus "not supplied"), so the metric never depends on what the data holds.
        """
        return self._ncp[level]

    def key_codes(self, values: pd.Series) -> IntArray:
        """The index in ``keys`` of each value of an internal-form column (vectorised)."""
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        index = pd.Index(self.keys, dtype=object)
        # Only the distinct values go through Python; the rows are mapped by numpy.
        wanted = [to_key(u) for u in uniques]
        found = index.get_indexer(pd.Index(wanted, dtype=object))
        if (found < 0).any():
            raise OutsideDomain(f"{self.field}: a value is outside the field's public domain",
                                hint="the snapshot must be in the common schema's internal form")
        missing = self.keys.index(MISSING)
        table = np.append(found, missing).astype(np.int64)  # code -1 (NA) -> last entry
        return table[np.where(codes < 0, len(found), codes)]


def to_key(value: object) -> str:
    """An internal-form value as a hierarchy key."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def hierarchy_problem(h: Hierarchy) -> str | None:
    """Why ``h`` is not a valid hierarchy, or None. Tested on its own, and on construction."""
    if not h.labels or len(h.level_names) != len(h.labels):
        return "one name per level is needed"
    if len(set(h.keys)) != len(h.keys) or MISSING not in h.keys:
        return "keys must be distinct and include the missing key"
    if any(len(level) != len(h.keys) for level in h.labels):
        return "every level needs one label per key"
    if len(set(h.labels[0])) != len(h.keys):
        return "level 0 must tell every value apart"
    if set(h.labels[-1]) != {SUPPRESSED}:
        return "the top level must suppress every value"
    for level in range(1, len(h.labels)):
        parent: dict[str, str] = {}
        for below, above in zip(h.labels[level - 1], h.labels[level], strict=True):
            if parent.setdefault(below, above) != above:
                return f"level {level} is not a function of level {level - 1}"
    return None


def _keep_special(keys: tuple[str, ...], unknown: frozenset[str],
                  general: Mapping[str, str], identity: Mapping[str, str]) -> tuple[str, ...]:
    """Labels of one level: unknown and missing keep their own label below the top."""
    return tuple(identity[key] if key in unknown or key == MISSING else general[key]
                 for key in keys)


def _vocabulary_keys(vocab: Vocabulary) -> tuple[tuple[str, ...], dict[str, str], frozenset[str]]:
    keys = (*vocab.codes, MISSING)
    identity = {**vocab.label_of(), MISSING: MISSING}
    unknown = frozenset(v.code for v in vocab.values if v.unknown)
    return keys, identity, unknown


def flat_hierarchy(field: str, vocab: Vocabulary) -> Hierarchy:
    """A category without structure: its CTDC label, then suppressed."""
    keys, identity, _ = _vocabulary_keys(vocab)
    return Hierarchy(field, ("recorded value", "suppressed"), keys,
                     (tuple(identity[k] for k in keys), (SUPPRESSED,) * len(keys)))


def flag_hierarchy(field: str) -> Hierarchy:
    """A flag: published 1 / 0 / empty, then suppressed."""
    keys = ("true", "false", MISSING)
    return Hierarchy(field, ("recorded value", "suppressed"), keys,
                     (("1", "0", MISSING), (SUPPRESSED,) * len(keys)))


def _broad_band(low: int, high: int) -> str:
    for start, end in BROAD_AGE_BANDS:
        if start <= low and (end is None or high <= end):
            return f"{start}+" if end is None else f"{start}--{end}"  # CTDC's double hyphen
    raise SchemaDefinitionError(f"age band {low}-{high} straddles a broad age band")


def age_hierarchy(field: str, vocab: Vocabulary, majority: Vocabulary) -> Hierarchy:
    """Age band -> broad band (0--17, 18--29, 30--47, 48+) -> Minor/Adult -> suppressed."""
    keys, identity, unknown = _vocabulary_keys(vocab)
    adult, minor = majority.value("adult").label, majority.value("minor").label
    broad: dict[str, str] = {}
    status: dict[str, str] = {}
    for v in vocab.values:
        if v.unknown:
            continue
        low, high = int(v.extra["min"]), int(v.extra["max"])
        if low < MAJORITY_AGE <= high:
            raise SchemaDefinitionError(f"age band {v.code} straddles the age of majority")
        broad[v.code] = _broad_band(low, high)
        status[v.code] = adult if low >= MAJORITY_AGE else minor
    return Hierarchy(
        field, ("age band", "broad age band", "majority status", "suppressed"), keys,
        (tuple(identity[k] for k in keys), _keep_special(keys, unknown, broad, identity),
         _keep_special(keys, unknown, status, identity), (SUPPRESSED,) * len(keys)))


def country_hierarchy(field: str, vocab: Vocabulary) -> Hierarchy:
    """Country (alpha-2) -> UN M49 sub-region -> UN M49 region -> suppressed."""
    keys, identity, unknown = _vocabulary_keys(vocab)
    names = {g["code"]: g["name"] for g in vocab.groups}
    subregion: dict[str, str] = {}
    region: dict[str, str] = {}
    for v in vocab.values:
        if v.unknown:
            continue
        sub, reg = v.extra.get("subregion"), v.extra.get("region")
        if sub not in names or reg not in names:
            raise SchemaDefinitionError(f"country {v.code} has no named M49 sub-region or region")
        subregion[v.code], region[v.code] = names[str(sub)], names[str(reg)]
    return Hierarchy(
        field, ("country", "UN M49 sub-region", "UN M49 region", "suppressed"), keys,
        (tuple(identity[k] for k in keys), _keep_special(keys, unknown, subregion, identity),
         _keep_special(keys, unknown, region, identity), (SUPPRESSED,) * len(keys)))


def _period_label(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def year_hierarchy(field: str, first: int, last: int) -> Hierarchy:
    """Year -> 2-year period -> 5-year period (aligned) -> suppressed, over ``first..last``.

    The range is widened to whole 5-year periods so every period is complete.
    """
    start = first - first % PERIOD
    end = last - last % PERIOD + PERIOD - 1
    years = range(start, end + 1)
    keys = (*(str(y) for y in years), MISSING)
    two: list[str] = []
    five: list[str] = []
    for y in years:
        base = y - y % PERIOD
        pair = base if y - base < 2 else base + 2
        two.append(_period_label(pair, pair + 1 if pair == base else base + PERIOD - 1))
        five.append(_period_label(base, base + PERIOD - 1))
    return Hierarchy(
        field, ("year", "2-year period", "5-year period", "suppressed"), keys,
        ((*(str(y) for y in years), MISSING), (*two, MISSING), (*five, MISSING),
         (SUPPRESSED,) * len(keys)))


def hierarchy_for(field: str, *, years: tuple[int, int], schema: Schema = SCHEMA) -> Hierarchy:
    """The hierarchy of a quasi-identifier, chosen by its type and vocabulary.

    ``years`` is the public year domain (first, last) used for year fields.
    """
    f = schema.field(field)
    if f.type == "year":
        return year_hierarchy(field, *years)
    if f.type == "flag":
        return flag_hierarchy(field)
    if f.type == "country":
        return country_hierarchy(field, schema.vocabulary_of(f))
    if f.type == "category":
        vocab = schema.vocabulary_of(f)
        if vocab.name == "age_band":
            return age_hierarchy(field, vocab, schema.vocabularies["majority_status"])
        return flat_hierarchy(field, vocab)
    raise SchemaDefinitionError(f"{field} ({f.type}) has no generalisation hierarchy")

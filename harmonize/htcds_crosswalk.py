"""The HTCDS 2.0 crosswalk (schemas/crosswalks/htcds.yaml): loaded, checked, indexed, tabulated.

Picklist values are matched by name or label ignoring case, spacing and punctuation, and
multi-select cells are split by ";", ",", "|" or spaces without breaking labels that hold
those characters themselves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from harmonize.matching import is_not_supplied, match
from schemas.definition import HERE as SCHEMA_DIR
from schemas.definition import SCHEMA, normalise_token
from schemas.errors import SchemaDefinitionError

CROSSWALK_PATH = SCHEMA_DIR / "crosswalks" / "htcds.yaml"

#: table prefixes of the field standard
PREFIXES = ("cas", "prs", "vic", "con", "per", "org", "hte", "spl", "cco")
#: the four prefixes of a victim case record (the rest are related tables)
CASE_PREFIXES = ("cas", "prs", "vic", "con")
_PREFIXED = re.compile(rf"^({'|'.join(PREFIXES)})_(.+)$", re.IGNORECASE)
_SEPARATORS = re.compile(r"[;,|]")


def compact(text: str) -> str:
    """'Forced begging', 'ForcedBegging' and 'forced-begging' all become 'forcedbegging'."""
    return normalise_token(text).replace(" ", "")


def field_key(name: str) -> str | None:
    """'prs_First_Name' and 'prs_FirstName' both become 'prs_firstname'; None if unprefixed."""
    m = _PREFIXED.match(name.strip())
    if m is None:
        return None
    return f"{m.group(1).lower()}_{compact(m.group(2))}"


@dataclass(frozen=True)
class PicklistValue:
    """One value of an HTCDS picklist and the common-schema codes it becomes."""

    name: str
    label: str
    #: (common field or multi-select group, code), the picklist's target first
    codes: tuple[tuple[str, str], ...]
    source: str = "field-standard"
    note: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(compact(t) for t in (self.name, self.label, *self.aliases) if t)


@dataclass(frozen=True, eq=False)
class Picklist:
    """An HTCDS picklist field that feeds one common-schema field or flag group."""

    field: str
    target: str
    multi_select: bool
    values: tuple[PicklistValue, ...]

    @property
    def index(self) -> dict[str, PicklistValue]:
        return _index(self)

    def lookup(self, text: str) -> PicklistValue | None:
        return self.index.get(compact(text))

    def split(self, text: str) -> tuple[tuple[PicklistValue, ...], int]:
        """The values a cell lists, and how many of its parts are not values of the picklist.

        A blank cell gives ``((), 0)``. Parts are never returned as text, only counted: an
        unrecognised part may be anything a case worker typed. (Not cached here: cell text
        must not outlive the upload in a long-running process; callers cache per upload.)
        """
        return _split(self, text)


@cache
def _index(picklist: Picklist) -> dict[str, PicklistValue]:
    index: dict[str, PicklistValue] = {}
    for value in picklist.values:
        for key in value.keys:
            seen = index.get(key)
            if seen is not None and seen.codes != value.codes:
                raise SchemaDefinitionError(
                    f"htcds crosswalk: {picklist.field}: {value.name or value.label!r} and "
                    f"{seen.name or seen.label!r} read the same but map differently")
            index.setdefault(key, value)
    return index


def _split(picklist: Picklist, text: str) -> tuple[tuple[PicklistValue, ...], int]:
    cell = text.strip()
    if is_not_supplied(cell):
        return (), 0
    whole = picklist.lookup(cell)
    if whole is not None:
        return (whole,), 0
    if not picklist.multi_select:
        return (), 1
    # Parts between separators, joined back where a label holds the separator itself:
    # the segmentation with the fewest unrecognised parts wins (then the fewest values).
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SEPARATORS.finditer(cell):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(cell)))
    n = len(spans)
    best: list[tuple[int, int, tuple[PicklistValue, ...]] | None] = [None] * (n + 1)
    best[0] = (0, 0, ())
    for j in range(1, n + 1):
        for i in range(j):
            prev = best[i]
            if prev is None:
                continue
            piece = cell[spans[i][0]:spans[j - 1][1]]
            if not piece.strip():
                found: tuple[PicklistValue, ...] = ()
                missed = 0
            elif (value := picklist.lookup(piece)) is not None:
                found, missed = (value,), 0
            elif i + 1 == j:
                found, missed = _split_words(picklist, piece)
            else:
                continue
            candidate = (prev[0] + missed, prev[1] + len(found), prev[2] + found)
            current = best[j]
            if current is None or candidate[:2] < current[:2]:
                best[j] = candidate
    final = best[n]
    assert final is not None  # every single part is a candidate
    values = tuple(dict.fromkeys(final[2]))
    return values, final[0]


def _split_words(picklist: Picklist, piece: str) -> tuple[tuple[PicklistValue, ...], int]:
    """XLSForm select_multiple: value names separated by spaces."""
    words = piece.split()
    found = [picklist.lookup(w) for w in words]
    if words and all(v is not None for v in found):
        return tuple(v for v in found if v is not None), 0
    return (), 1


@dataclass(frozen=True)
class StatusValue:
    name: str
    label: str
    status: str  # identified | presumed | not_a_victim


@dataclass(frozen=True, eq=False)
class Crosswalk:
    """The whole crosswalk file, checked against the common schema."""

    version: str
    standard: str
    keep: tuple[str, ...]
    drop: Mapping[str, tuple[str, ...]]
    aliases: Mapping[str, str]
    case_id_columns: tuple[str, ...]
    case_date_columns: tuple[str, ...]
    constants: Mapping[str, str]
    eligibility_field: str
    eligibility: tuple[StatusValue, ...]
    consent_field: str
    consent_given: frozenset[str]
    consent_refused: frozenset[str]
    consent_words: tuple[tuple[str, ...], tuple[str, ...]]
    derived: tuple[Mapping[str, Any], ...]
    country_fields: Mapping[str, str]
    country_overrides: Mapping[str, str]
    picklists: Mapping[str, Picklist]
    not_mapped: Mapping[str, str]
    #: fields read only for the linkage keys: the name's parts, and the birth date
    linkage_name: tuple[str, ...] = ()
    linkage_birth_date: str | None = None

    @property
    def mapping_version(self) -> str:
        """'htcds-2.0/1' -> 'htcds-2-0/1' (the mapping-version pattern allows no dots)."""
        return self.version.replace(".", "-")

    @property
    def known_fields(self) -> tuple[str, ...]:
        return (*self.keep, *(f for fields in self.drop.values() for f in fields))

    @property
    def drop_reason(self) -> dict[str, str]:
        return {f: reason for reason, fields in self.drop.items() for f in fields}

    def canonical(self, name: str) -> str | None:
        """The field-standard name of a column header, or None when it is not one."""
        return _canonical_index(self).get(field_key(name) or f"label:{compact(name)}")

    def status_of(self, text: str) -> str | None:
        key = compact(text)
        for v in self.eligibility:
            if key in (compact(v.name), compact(v.label)):
                return v.status
        return None

    def consent_of(self, text: str) -> bool | None:
        key = normalise_token(text)
        if key in self.consent_given:
            return True
        if key in self.consent_refused:
            return False
        return None

    def country(self, text: str) -> str | None:
        """ISO alpha-3 for a country name or code, via the common matcher."""
        return match("country", text, dict(self.country_overrides))


@cache
def _canonical_index(crosswalk: Crosswalk) -> dict[str, str]:
    index: dict[str, str] = {}
    for name in crosswalk.known_fields:
        key = field_key(name)
        if key is None:
            raise SchemaDefinitionError(f"htcds crosswalk: {name!r} has no table prefix")
        index[key] = name
    for alias, name in crosswalk.aliases.items():
        index[field_key(alias) or f"label:{compact(alias)}"] = name
    return index


def _check_code(group: str, code: str, where: str) -> None:
    vocab = SCHEMA.vocabularies.get(group)
    if vocab is None:
        try:
            f = SCHEMA.field(group)
        except KeyError as err:
            raise SchemaDefinitionError(f"{where}: {group!r} is not a common-schema field "
                                        "or flag group") from err
        vocab = SCHEMA.vocabulary_of(f)
    if code not in vocab.codes:
        raise SchemaDefinitionError(f"{where}: {code!r} is not a code of {vocab.name}")


def _picklist(field: str, raw: Mapping[str, Any]) -> Picklist:
    target = str(raw["target"])
    values = []
    for entry in raw["values"]:
        name = str(entry.get("name") or entry["label"])
        label = str(entry.get("label") or "")
        codes = [(target, str(entry["code"]))]
        for group, code in (entry.get("also") or {}).items():
            codes.append((str(group), str(code)))
        for group, code in codes:
            _check_code(group, code, f"htcds crosswalk: picklists.{field}.{name}")
        values.append(PicklistValue(
            name=name, label=label, codes=tuple(codes),
            source=str(entry.get("source", "field-standard")),
            note=" ".join(str(entry.get("note", "")).split()),
            aliases=tuple(str(a) for a in entry.get("aliases", ()))))
    picklist = Picklist(field=field, target=target,
                        multi_select=bool(raw.get("multi_select", False)), values=tuple(values))
    _index(picklist)  # raises on values that read the same but map differently
    return picklist


def load_crosswalk(path: Path = CROSSWALK_PATH) -> Crosswalk:
    """Read and check a crosswalk file; every code must exist in the common schema."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise SchemaDefinitionError(f"{path.name}: cannot be read as YAML") from err
    columns = data["columns"]
    eligibility = data["eligibility"]
    consent = data["consent"]
    countries = data["countries"]
    for name, code in data.get("constants", {}).items():
        _check_code(name, code, "htcds crosswalk: constants")
    for field, target in countries["fields"].items():
        if SCHEMA.field(target).type != "country":
            raise SchemaDefinitionError(f"htcds crosswalk: countries.{field}: {target!r} is "
                                        "not a country field")
    for text, code in countries.get("overrides", {}).items():
        _check_code("country", code, f"htcds crosswalk: countries.overrides.{text}")
    given = tuple(str(w) for w in consent["given"])
    refused = tuple(str(w) for w in consent["refused"])
    crosswalk = Crosswalk(
        version=str(data["version"]),
        standard=str(data.get("standard", "")),
        keep=tuple(columns["keep"]),
        drop={str(k): tuple(v) for k, v in columns["drop"].items()},
        aliases={str(k): str(v) for k, v in columns.get("aliases", {}).items()},
        case_id_columns=tuple(str(c) for c in data["case_id_columns"]),
        case_date_columns=tuple(str(c) for c in data["case_date_columns"]),
        constants={str(k): str(v) for k, v in data.get("constants", {}).items()},
        eligibility_field=str(eligibility["field"]),
        eligibility=tuple(StatusValue(str(v["name"]), str(v["label"]), str(v["status"]))
                          for v in eligibility["values"]),
        consent_field=str(consent["field"]),
        consent_given=frozenset(normalise_token(w) for w in given),
        consent_refused=frozenset(normalise_token(w) for w in refused),
        consent_words=(given, refused),
        derived=tuple(data.get("derived", ())),
        country_fields={str(k): str(v) for k, v in countries["fields"].items()},
        country_overrides={str(k): str(v) for k, v in countries.get("overrides", {}).items()},
        picklists={str(f): _picklist(str(f), raw) for f, raw in data["picklists"].items()},
        not_mapped={str(k): " ".join(str(v).split()) for k, v in data["not_mapped"].items()},
        linkage_name=tuple(str(f) for f in (data.get("linkage") or {}).get("name", ())),
        linkage_birth_date=(data.get("linkage") or {}).get("birth_date"),
    )
    if crosswalk.consent_given & crosswalk.consent_refused:
        raise SchemaDefinitionError("htcds crosswalk: a consent word is both given and refused")
    statuses = {v.status for v in crosswalk.eligibility}
    if not statuses <= {"identified", "presumed", "not_a_victim"}:
        raise SchemaDefinitionError("htcds crosswalk: unknown trafficking status class")
    known = set(crosswalk.known_fields)
    linkage = (*crosswalk.linkage_name, *([crosswalk.linkage_birth_date]
                                         if crosswalk.linkage_birth_date else []))
    for name in (*crosswalk.picklists, *crosswalk.country_fields, crosswalk.consent_field,
                 crosswalk.eligibility_field, *crosswalk.aliases.values(), *linkage):
        if name not in known:
            raise SchemaDefinitionError(f"htcds crosswalk: {name!r} is not in columns")
    _canonical_index(crosswalk)
    return crosswalk


@cache
def crosswalk() -> Crosswalk:
    """The built-in crosswalk."""
    return load_crosswalk()


def crosswalk_rows() -> list[dict[str, str]]:
    """The crosswalk as a table for the codebook: one row per HTCDS value and target.

    Keys: htcds_field, htcds_value, htcds_label, common_field, common_code, note.
    ``common_field`` is a common-schema field or multi-select group, or "(eligibility)" /
    "(consent)" for the rules that decide whether a case enters at all.
    """
    cw = crosswalk()
    rows: list[dict[str, str]] = []

    def add(field: str, value: str, label: str, target: str, code: str, note: str = "") -> None:
        rows.append({"htcds_field": field, "htcds_value": value, "htcds_label": label,
                     "common_field": target, "common_code": code, "note": note})

    for s in cw.eligibility:
        enters = {"identified": "included (identified victim)",
                  "presumed": "included (presumed victim)"}.get(s.status, "excluded")
        add(cw.eligibility_field, s.name, s.label, "(eligibility)", enters)
    given, refused = cw.consent_words
    add(cw.consent_field, " / ".join(given), "", "(consent)", "included")
    add(cw.consent_field, " / ".join(refused), "", "(consent)", "excluded")
    add(cw.consent_field, "(blank or any other value)", "", "(consent)", "excluded",
        "consent not recorded")
    for name, code in cw.constants.items():
        add("(every case)", "", "", name, code)
    for d in cw.derived:
        for target in d["to"]:
            add(str(d["field"]), "", "", str(target), "(computed)", str(d["rule"]))
    for field, target in cw.country_fields.items():
        add(field, "ISO 3166-1 alpha-2 code or country name", "", target, "ISO 3166-1 alpha-3",
            "the same country")
        for text, code in cw.country_overrides.items():
            add(field, text, text, target, code)
    for picklist in cw.picklists.values():
        for v in picklist.values:
            for target, code in v.codes:
                origin = "" if v.source == "field-standard" else f"from {v.source}"
                add(picklist.field, v.name, v.label, target, code,
                    "; ".join(t for t in (v.note, origin) if t))
    for field, reason in cw.not_mapped.items():
        add(field, "(all values)", "", "(not mapped)", "", reason)
    return rows

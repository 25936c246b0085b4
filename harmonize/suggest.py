"""Draft a mapping for an unseen extract: columns matched by name and by their values."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pandas as pd
import yaml
from rapidfuzz import fuzz

from harmonize.dates import detect_format, parse_date
from harmonize.harmonizer import NO, YES, _parse_age, _tokens
from harmonize.linkage import parse_birth_date, parse_birth_year
from harmonize.matching import is_not_supplied, match
from ingest.pii import identifier_column_kind
from ingest.table import RawTable
from schemas.definition import normalise_token

ALIASES = Path(__file__).parent / "column_aliases.yaml"
SAMPLE = 500  # distinct values looked at per column
ACCEPT = 0.45  # below this a column is left unmapped
SURE = 0.75  # below this the suggestion carries a TODO
BIRTH_AGE_PENALTY = 0.75  # an age computed from a birth date or year, against one recorded
VOCABULARY_TARGETS = {
    "gender": "gender", "age_broad": "age_band", "majority_status": "majority_status",
    "citizenship": "country", "country_of_exploitation": "country", "data_source": "data_source",
}
MULTI_TARGETS = ("exploitation_type", "means_of_control", "labour_type",
                 "sex_exploitation_type", "recruiter_relation")
FLAG_TARGETS = ("is_abduction", "is_forced_labour", "is_sexual_exploit", "is_forced_marriage",
                "is_other_exploit")


@dataclass
class Guess:
    """What one source column probably holds."""

    column: str
    target: str | None = None
    confidence: float = 0.0
    rule: dict[str, object] = field(default_factory=dict)
    why: str = ""
    dropped: str | None = None  # the identifier kind when the column is never mapped
    # "name", "birth_date" or "birth_year" when the column feeds the linkage keys
    linkage: str | None = None
    linkage_rule: dict[str, object] = field(default_factory=dict)


@cache
def _aliases() -> dict[str, tuple[str, ...]]:
    data = yaml.safe_load(ALIASES.read_text(encoding="utf-8"))
    return {k: tuple(normalise_token(str(a)) for a in v) for k, v in data.items()}


def _name_score(column: str, target: str) -> float:
    # Nested JSON exports flatten to "victim.gender": the last part is the partner's name.
    names = {normalise_token(column), normalise_token(column.rsplit(".", 1)[-1])}
    return max((fuzz.token_sort_ratio(name, alias) / 100
                for alias in _aliases().get(target, ()) for name in names), default=0.0)


def _distinct(col: pd.Series) -> pd.Series:
    """Distinct supplied values with their counts (most frequent first, capped)."""
    counts = col.astype(str).str.strip().value_counts()
    counts = counts[[not is_not_supplied(v) for v in counts.index]]
    return counts.head(SAMPLE)


def _share(counts: pd.Series, ok: list[bool]) -> float:
    total = counts.sum()
    return float(counts[ok].sum() / total) if total else 0.0


def _multi_separator(values: list[str]) -> str | None:
    if any(v.startswith("[") for v in values):
        return "json"
    for sep in (";", "|", ","):
        if any(sep in v for v in values):
            return sep
    return None


def _candidates(column: str, col: pd.Series) -> list[tuple[str, float, dict[str, object], str]]:
    """(target, score, rule, why) for every target this column could fill."""
    counts = _distinct(col)
    values = [str(v) for v in counts.index]
    out: list[tuple[str, float, dict[str, object], str]] = []
    if not values:
        return out
    unique_ratio = col.nunique() / max(len(col), 1)
    name = {t: _name_score(column, t) for t in _aliases()}

    if unique_ratio > 0.9:
        out.append(("case_id", 0.5 * name["case_id"] + 0.5, {}, "unique values"))
    dates = detect_format(values)
    if dates is not None:
        parsed = _share(counts, [_parse_date_ok(v, dates.format) for v in values])
        rule: dict[str, object] = {} if dates.format in ("iso", "year", "excel") else {
            "date_format": dates.format}
        ambiguous = ", ambiguous day/month" if dates.ambiguous else ""
        why = f"{parsed:.0%} dates ({dates.format}{ambiguous})"
        # Registrations are recent, births are not: the typical year tells them apart.
        years = [d.year for d in (parse_date(v, dates.format) for v in values) if d] + [
            int(v) for v in values if v.isdigit() and len(v) == 4]
        recent = float(pd.Series(years).median()) >= 2005 if years else True
        for target in ("year_of_registration", "age_broad"):
            plausible = 1.0 if recent == (target == "year_of_registration") else 0.5
            if target == "age_broad":
                rule = {**rule, "kind": "birth_year" if dates.format == "year" else "birth_date"}
            out.append((target, 0.5 * name[target] + 0.5 * parsed * plausible, rule, why))
    ages = _share(counts, [isinstance(_parse_age(v), float) for v in values])
    if ages > 0.5 and dates is None:
        out.append(("age_broad", 0.5 * name["age_broad"] + 0.5 * ages, {"kind": "years"},
                    f"{ages:.0%} numbers 0-120"))
    for target, vocab in VOCABULARY_TARGETS.items():
        hit = _share(counts, [match(vocab, v) is not None for v in values])
        if hit:
            rule = {"kind": "band"} if target == "age_broad" else {}
            out.append((target, 0.5 * name[target] + 0.5 * hit, rule,
                        f"{hit:.0%} of values in the {vocab} vocabulary"))
    sep = _multi_separator(values)
    for group in MULTI_TARGETS:
        hit = _share(counts, [all(match(group, t) is not None for t in (_tokens(v, sep) or []))
                              for v in values])
        if hit:
            rule = {"separator": sep} if sep else {}
            out.append((group, 0.5 * name[group] + 0.5 * hit, rule,
                        f"{hit:.0%} of values in the {group} vocabulary"))
    yes_no = _share(counts, [normalise_token(v) in YES | NO for v in values])
    if yes_no > 0.8:
        for flag in FLAG_TARGETS:
            out.append((flag, 0.6 * name[flag] + 0.4 * yes_no, {}, "yes/no values"))
    return out


def _parse_date_ok(value: str, fmt: str) -> bool:
    return (value.isdigit() and len(value) == 4) or parse_date(value, fmt) is not None


def suggest(table: RawTable) -> list[Guess]:
    """One guess per column; each target is given to at most one column (best score wins)."""
    guesses = {c: Guess(c) for c in table.frame.columns}
    options: list[tuple[float, float, str, str, dict[str, object], str]] = []
    for column in table.frame.columns:
        kind = identifier_column_kind(column)
        if kind is not None:
            guesses[column].dropped = kind
        col = table.frame[column]
        # Between two columns that fit one target, the better-filled one wins.
        filled = 1 - float(col.map(is_not_supplied).mean()) if len(col) else 0.0
        for target, score, rule, why in _candidates(column, col):
            # A birth date may only become an age band (computed, then the date dropped),
            # and an age the partner recorded beats one computed from it.
            if target == "age_broad" and rule.get("kind") in ("birth_date", "birth_year"):
                score *= BIRTH_AGE_PENALTY
            if kind is None or (kind == "birth_date" and target == "age_broad"):
                options.append((score * (0.5 + 0.5 * filled), score, column, target, rule, why))
    taken: set[str] = set()
    for _rank, score, column, target, rule, why in sorted(options, key=lambda o: -o[0]):
        guess = guesses[column]
        if guess.target is not None or target in taken or score < ACCEPT:
            continue
        guess.target, guess.confidence, guess.rule, guess.why = target, round(score, 2), rule, why
        taken.add(target)
    _linkage(table, guesses)
    return list(guesses.values())


# Header words of a name that is not the victim's own (or not the one others would record).
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_OTHER_PERSON = _words("""
    father mother pere mere padre madre pai mae parent parents guardian tuteur tutrice tutor
    tutora husband wife spouse epoux epouse conjoint conjointe esposo esposa marido mulher
    recruiter recruteur reclutador recrutador trafficker trafiquant tratante traficante
    worker caseworker agent officer staff interviewer enqueteur entrevistador user
    utilisateur usuario contact emergency referent nickname alias surnom apodo kunya middle
    maiden jeune soltera solteira organisation organization country pays pais city ville
    file fichier office bureau
""")


def _linkage_kind(column: str) -> str | None:
    """Which part of the linkage keys a header names: "name", "birth_date", "birth_year"."""
    headers = {normalise_token(column), normalise_token(column.rsplit(".", 1)[-1])}
    aliases = _aliases()
    if any(h in aliases["linkage_birth_year"] for h in headers):
        return "birth_year"
    kind = identifier_column_kind(column)
    if kind == "birth_date" or any(h in aliases["linkage_birth_date"] for h in headers):
        return "birth_date"
    if kind == "person_name" or any(h in aliases["linkage_name"] for h in headers):
        words = set(normalise_token(column).replace(".", " ").split())
        return None if words & _OTHER_PERSON else "name"
    return None


def _linkage(table: RawTable, guesses: dict[str, Guess]) -> None:
    """Mark the columns of the linkage block: the name (all its columns) and a readable date
    or year of birth. Nothing is marked unless there is a name and one of the two."""
    found: dict[str, list[str]] = {"name": [], "birth_date": [], "birth_year": []}
    rules: dict[str, dict[str, object]] = {}
    for column in table.frame.columns:
        kind = _linkage_kind(column)
        if kind is None:
            continue
        values = [str(v) for v in _distinct(table.frame[column]).index]
        if not values:
            continue
        if kind == "birth_year":
            if _share_true([parse_birth_year(v) is not None for v in values]) < 0.8:
                continue
        elif kind == "birth_date":
            dates = detect_format(values)
            if dates is None or _share_true(
                    [parse_birth_date(v, dates.format) is not None for v in values]) < 0.8:
                continue
            if dates.format not in ("iso", "year"):
                rules[column] = {"date_format": dates.format}
        found[kind].append(column)
    if not found["name"] or not (found["birth_date"] or found["birth_year"]):
        return
    for kind, columns in found.items():
        for k, column in enumerate(columns):
            if kind != "name" and k > 0:
                break  # one date and one year of birth at most: the first found
            guesses[column].linkage = kind
            guesses[column].linkage_rule = rules.get(column, {})


def _share_true(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def _yaml_scalar(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def draft_yaml(guesses: list[Guess], *, name: str, sheet: str | None = None) -> str:
    """The draft mapping, with a confidence per column and TODO where unsure."""
    slug = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-") or "partner"
    case_id = next((g for g in guesses if g.target == "case_id"), None)
    lines = [
        f"# Draft mapping suggested by `ctcollab mapping suggest` for {name}.",
        "# Check every line, fix each TODO, then run `ctcollab mapping check`.",
        f"mapping_version: {_yaml_scalar(slug + '/1')}",
        f"description: {_yaml_scalar('Suggested mapping for ' + name)}",
    ]
    if case_id is None:
        lines.append('case_id: "TODO"  # TODO: no column looks like a unique case id')
    else:
        lines.append(f"case_id: {_yaml_scalar(case_id.column)}  # confidence {case_id.confidence}")
    if sheet:
        lines.append(f"sheet: {_yaml_scalar(sheet)}")
    if not any(g.target == "data_source" for g in guesses):
        lines += ["constants:", "  data_source: case_management  # TODO: or hotline"]
    mapped = [g for g in guesses if g.target not in (None, "case_id")]
    lines.append("fields:" if mapped else
                 "fields: {}  # TODO: no column matched a common-schema field")
    for g in mapped:
        rule = ", ".join(f"{k}: {_yaml_scalar(v)}" for k, v in
                         {"column": g.column, **g.rule}.items())
        todo = "  TODO: check" if g.confidence < SURE else ""
        note = " Birth date: only the age is kept." if g.dropped else ""
        lines.append(f"  {g.target}: {{{rule}}}  # confidence {g.confidence}: {g.why}.{note}{todo}")
    lines += _linkage_yaml(guesses)
    unmapped = [g for g in guesses if g.target is None]
    if unmapped:
        lines.append("# Columns left out (never stored):")
        for g in unmapped:
            why = (f"read only for the linkage keys ({g.linkage})" if g.linkage else
                   f"looks like an identifier ({g.dropped})" if g.dropped else "no match")
            lines.append(f"#   {_yaml_scalar(g.column)}: {why}")
    return "\n".join(lines) + "\n"


def _linkage_yaml(guesses: list[Guess]) -> list[str]:
    names = [g.column for g in guesses if g.linkage == "name"]
    if not names:
        return []
    lines = ["# The person's name and date or year of birth: read only to compute the linkage",
             "# keys (HMAC) that count a person recorded twice once; never stored.",
             "linkage:", f"  name: [{', '.join(_yaml_scalar(c) for c in names)}]"]
    for g in guesses:
        if g.linkage == "birth_date":
            rule = ", ".join(f"{k}: {_yaml_scalar(v)}" for k, v in
                             {"column": g.column, **g.linkage_rule}.items())
            lines.append(f"  birth_date: {{{rule}}}")
        elif g.linkage == "birth_year":
            lines.append(f"  birth_year: {_yaml_scalar(g.column)}")
    return lines

"""Real CTDC rows relabelled as a partner would write them, and how much of them
`mapping suggest` + harmonising recovers. Shared by the French, Spanish and Portuguese tests."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from harmonize.harmonizer import Harmonized, harmonize
from harmonize.mapping import parse_mapping
from harmonize.suggest import _aliases, _name_score, draft_yaml, suggest
from ingest.table import RawTable
from schemas.ctdc_form import from_ctdc
from schemas.definition import SCHEMA, normalise_token

SINGLE = ("gender", "age_broad")
COUNTRIES = ("citizenship", "country_of_exploitation")
GROUPS = ("exploitation_type", "means_of_control", "labour_type", "recruiter_relation")


def real_cases(ctdc_kanon_path: Path, n: int = 3000, seed: int = 4) -> pd.DataFrame:
    """A sample of the real CTDC file in internal form, missing values as None."""
    real = pd.read_csv(ctdc_kanon_path, dtype=str, keep_default_na=False)
    internal = from_ctdc(real.sample(n, random_state=seed)).reset_index(drop=True)
    return internal.astype(object).where(internal.notna(), None)


def chosen_codes(rec: dict[str, object], group: str) -> list[str]:
    """The codes of a multi-select group whose (non-derived) CTDC flag is set in a case."""
    return [f.code or "" for f in SCHEMA.flags_of(group)
            if not f.derived and rec[f.name] is True]


def csv_bytes(rows: Sequence[dict[str, str]], *, delimiter: str, encoding: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=delimiter,
                            lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding, errors="replace")


def suggested_targets(table: RawTable) -> dict[str, str | None]:
    """Column -> the target `mapping suggest` gives it."""
    return {g.column: g.target for g in suggest(table)}


def harmonize_suggested(table: RawTable, name: str) -> Harmonized:
    """Harmonise the table with the draft mapping `mapping suggest` writes, untouched."""
    mapping = parse_mapping(draft_yaml(list(suggest(table)), name=name))
    return harmonize(table.frame, table.source_rows, mapping, org_id=1, secret=b"k" * 32)


def _text(column: pd.Series) -> pd.Series:
    return column.astype(object).where(column.notna(), "<missing>").map(str)


def agreement(cases: pd.DataFrame, internal: pd.DataFrame, fields: Iterable[str],
              groups: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Per field (and per multi-select group, over its flags): (cells agreeing, cells)."""
    out: dict[str, tuple[int, int]] = {}
    for field in fields:
        # Missing on both sides agrees: compare texts with one marker for missing.
        out[field] = (int((_text(cases[field]) == _text(internal[field])).sum()),
                      len(internal))
    for group in groups:
        agree = total = 0
        for flag in SCHEMA.flags_of(group):
            if flag.derived or flag.name not in cases:
                continue
            ours_flag = cases[flag.name].fillna(False).astype(bool)
            theirs = internal[flag.name].map(lambda v: v is True)
            agree += int((ours_flag == theirs).sum())
            total += len(internal)
        out[group] = (agree, total)
    return out


def share(counts: dict[str, tuple[int, int]]) -> float:
    agree = sum(a for a, _ in counts.values())
    total = sum(t for _, t in counts.values())
    return agree / total


def supplied_agreement(cases: pd.DataFrame, internal: pd.DataFrame, fields: Iterable[str],
                       groups: Iterable[str]) -> dict[str, float]:
    """Per field (and per multi-select group, over its flags): the share of the cells CTDC
    fills that harmonising reproduces."""
    out: dict[str, float] = {}
    for field in fields:
        supplied = internal[field].notna()
        ours = cases[field].astype(object)[supplied].map(str)
        out[field] = float((ours == internal[field][supplied].map(str)).mean())
    for group in groups:
        agree = total = 0
        for flag in SCHEMA.flags_of(group):
            if flag.derived:
                continue
            supplied = internal[flag.name].notna()
            ours_flag = (cases[flag.name].fillna(False).astype(bool) if flag.name in cases
                         else pd.Series(False, index=cases.index))
            agree += int((ours_flag[supplied] == internal[flag.name][supplied]).sum())
            total += int(supplied.sum())
        out[group] = agree / total if total else 1.0
    return out


def synonym_clashes(lang: str) -> dict[str, dict[str, list[str]]]:
    """Per vocabulary, the ``lang`` synonyms that (normalised) also name another code of it,
    in any language or as a code or label."""
    out: dict[str, dict[str, list[str]]] = {}
    for name, vocab in SCHEMA.vocabularies.items():
        codes: dict[str, set[str]] = defaultdict(set)
        for v in vocab.values:
            for word in (v.code, v.label, *(w for ws in v.synonyms.values() for w in ws)):
                codes[normalise_token(word)].add(v.code)
        ours = {normalise_token(w) for v in vocab.values for w in v.synonyms.get(lang, ())}
        clashes = {token: sorted(codes[token]) for token in ours if len(codes[token]) > 1}
        if clashes:
            out[name] = clashes
    return out


# --- what the Spanish and Portuguese tests share --------------------------------------------

CATEGORIES = ("data_source", "gender", "age_broad", "majority_status")
ALL_GROUPS = ("exploitation_type", "means_of_control", "labour_type", "sex_exploitation_type",
              "recruiter_relation")
VOCABULARY = {"age_broad": "age_band"}  # field -> vocabulary, where the names differ


def pick(words: list[str], i: int) -> str:
    """The usual wording two rows in three; the others in turn on the third."""
    return words[0] if i % 3 else words[(i // 3) % len(words)]


def assert_header_names_its_target(header: str, target: str) -> None:
    """By its name alone (values aside), a header points `mapping suggest` at its target."""
    scores = {t: _name_score(header, t) for t in _aliases()}
    assert max(scores, key=lambda t: scores[t]) == target, scores
    assert scores[target] >= 0.9, scores[target]


def assert_labels_cover_every_value(labels: dict[str, dict[str, list[str]]]) -> None:
    for vocab, by_code in labels.items():
        codes = {v.code for v in SCHEMA.vocabularies[vocab].values if not v.derived}
        assert set(by_code) == codes, vocab


def assert_suggest_recovers(table: RawTable, internal: pd.DataFrame, columns: dict[str, str],
                            name: str) -> None:
    """`mapping suggest` alone gets >= 90% of the columns right, and harmonising with its
    draft gives >= 95% of the cells, >= 99% of each field's supplied values, no label left."""
    guesses = suggested_targets(table)
    right = sum(guesses[col] == target for target, col in columns.items())
    assert right / len(columns) >= 0.9, guesses

    result = harmonize_suggested(table, name)
    assert len(result.cases) == len(internal)
    fields = ("year_of_registration", *CATEGORIES, *COUNTRIES)
    cells = agreement(result.cases, internal, fields, ALL_GROUPS)
    assert share(cells) >= 0.95, (share(cells), cells)
    # Field by field, the values CTDC has come back (not just on average).
    supplied = supplied_agreement(result.cases, internal, fields, ALL_GROUPS)
    assert min(supplied.values()) >= 0.99, supplied
    # Every label the partner wrote is known: nothing left for the data officer to map.
    unmapped = {f: dict(c.unmapped_values) for f, c in result.coverage.items()
                if c.unmapped_values}
    assert not unmapped, unmapped

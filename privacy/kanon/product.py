"""k-anonymised microdata in CTDC-compatible form: search, suppress, shuffle, verify, describe."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy.kanon.errors import KAnonymityFailed, KAnonymityInfeasible
from privacy.kanon.hierarchies import MISSING, Hierarchy, hierarchy_for
from privacy.kanon.lattice import Lattice, frequency_set, max_suppressed, search
from privacy.kanon.spec import KAnonSpec
from privacy.kanon.verify import verify
from schemas.ctdc_form import to_ctdc
from schemas.definition import SCHEMA, Field
from schemas.errors import InternalError
from schemas.table_schema import ctdc_table_schema

METHOD = "k-anonymity"
FIRST_YEAR = 2000  # when the schema gives a year field no minimum
# Suppressed records are removed, not starred: rows of "*" would form a class of their own,
# smaller than k whenever few are suppressed, and would single out exactly the rare cases.
SUPPRESSION = "record"


def _ctdc(name: str) -> str:
    ctdc = SCHEMA.field(name).ctdc
    if ctdc is None:
        raise InternalError(f"{name} has no CTDC column")
    return ctdc


@dataclass(frozen=True, eq=False)
class KAnonResult:
    """The published rows and exactly how they were protected."""

    frame: pd.DataFrame  # CTDC columns and labels; QI columns hold generalised labels
    levels: dict[str, int]  # chosen level per quasi-identifier (common-schema names)
    suppressed: int
    information_loss: float
    class_sizes: dict[int, int]  # class size -> number of classes of that size
    k_achieved: int
    l_diversity: dict[str, int]  # CTDC name of each sensitive attribute -> l
    spec: KAnonSpec
    hierarchies: Mapping[str, Hierarchy]
    records_in: int
    lattice_size: int
    nodes_evaluated: int

    def level_name(self, qi: str) -> str:
        return self.hierarchies[qi].level_names[self.levels[qi]]

    def table_schema(self) -> dict[str, Any]:
        """Frictionless v2 Table Schema of the published columns; a generalised column's
        categories are the labels its level can publish."""
        schema = ctdc_table_schema(columns=list(self.frame.columns))
        by_ctdc = {_ctdc(q): q for q in self.spec.quasi_identifiers}
        for entry in schema["fields"]:
            qi = by_ctdc.get(entry["name"])
            if qi is None:
                continue
            level, h = self.levels[qi], self.hierarchies[qi]
            entry["description"] = (
                f"{entry['description']} Published as {h.level_names[level]}"
                f" (level {level} of {h.top}) for k-anonymity, k={self.spec.k}.")
            if level == 0 and entry["type"] == "integer":
                continue  # the year or flag itself: the integer field stays as it is
            entry.pop("constraints", None)
            entry.update(type="string", categories=list(h.categories(level)))
        return schema

    def privacy(self) -> dict[str, Any]:
        """The datapackage resource's ``privacy`` object."""
        qis = self.spec.quasi_identifiers
        return {
            "method": METHOD,
            "k": self.spec.k,
            "k_achieved": self.k_achieved,
            "quasi_identifiers": [_ctdc(q) for q in qis],
            "generalisation_levels": {_ctdc(q): self.levels[q] for q in qis},
            "generalisation_level_names": {_ctdc(q): self.level_name(q) for q in qis},
            "max_suppression": self.spec.max_suppression,
            "suppression": SUPPRESSION,
            "suppression_within_limit": self.suppressed <= max_suppressed(
                self.records_in, self.spec.max_suppression),
            "information_loss": {"metric": self.spec.loss_metric,
                                 "over": "published records",
                                 "value": self.published_loss()},
            "l_diversity": dict(self.l_diversity),
        }

    def published_loss(self) -> float:
        """The information loss of the published records alone.

        The searched loss also counts the suppressed records, against the snapshot's size:
        with the file (whose own rows anyone can count) it would give back the exact number
        of suppressed records and of cases. This one is a function of the file alone.
        """
        kept = self.records_in - self.suppressed
        if kept <= 0:
            return 0.0
        if self.spec.loss_metric == "ncp":
            q = len(self.spec.quasi_identifiers)
            total = self.information_loss * self.records_in * q - self.suppressed * q
            return max(total, 0.0) / (kept * q)
        # Discernibility: each published record costs the size of its class.
        return float(sum(size * size * count for size, count in self.class_sizes.items()))

    def report_markdown(self) -> str:
        """The methodology section: k, levels, suppression within its limit, and loss.

        No exact count of the snapshot: not the records taken in or suppressed, nor the sizes
        of the classes (k-anonymity is not differential privacy: such counts would leave
        outside any guarantee). The file's own rows and classes are visible in it.
        """
        spec = self.spec
        metric = ("normalised certainty penalty (0 = every value published as is,"
                  " 1 = every value suppressed)" if spec.loss_metric == "ncp"
                  else "discernibility (sum over published records of their class size)")
        lines = [
            "## k-anonymised microdata",
            "",
            f"Every published record shares its quasi-identifiers with at least {spec.k - 1}"
            f" other records (k = {spec.k}; the published file has k = {self.k_achieved},"
            " verified with pycanon before release). Quasi-identifiers are generalised along"
            " public hierarchies (age band → broad band → majority status; country → UN M49"
            " sub-region → region; year → 2-year → 5-year period) at one level for the whole"
            " file, chosen by a full search of the generalisation lattice for the least"
            " information loss; records still in classes smaller than k are removed.",
            "",
            "| Quasi-identifier | Published as | Level |",
            "|---|---|---|",
        ]
        for q in spec.quasi_identifiers:
            lines.append(f"| {_ctdc(q)} | {self.level_name(q)} |"
                         f" {self.levels[q]} of {self.hierarchies[q].top} |")
        within = self.suppressed <= max_suppressed(self.records_in, spec.max_suppression)
        lines += [
            "",
            ("- Suppression stayed within the limit of"
             if within else "- Suppression exceeded the limit of")
            + f" {spec.max_suppression:.0%} of the records (removed whole records; how many"
            " is not published, since it would give the exact number of cases).",
            f"- Information loss over the published records: {self.published_loss():.4g},"
            f" {metric}.",
        ]
        if self.l_diversity:
            lines.append("- l-diversity (distinct values in the least diverse class): "
                         + ", ".join(f"{k} {v}" for k, v in self.l_diversity.items()) + ".")
        return "\n".join(lines) + "\n"


def _year_domain(frame: pd.DataFrame, spec: KAnonSpec) -> tuple[int, int]:
    """The public year domain: the schema's first year to the reference year, widened only
    if the snapshot strays outside it, so that every value has a place in the hierarchy."""
    year_qis = [q for q in spec.quasi_identifiers if SCHEMA.field(q).type == "year"]
    first = min((SCHEMA.field(q).min or FIRST_YEAR for q in year_qis), default=FIRST_YEAR)
    last = spec.year_max if spec.year_max is not None else date.today().year
    for q in year_qis:
        if q in frame.columns:
            years = pd.to_numeric(frame[q], errors="coerce").dropna()
            if len(years):
                first, last = min(first, int(years.min())), max(last, int(years.max()))
    return first, last


def _published_ctdc_fields(spec: KAnonSpec, levels: Mapping[str, int]) -> list[Field]:
    """The CTDC columns of the file, in CTDC order.

    A concatenation is published only when every flag it joins is published as is: it
    would otherwise give back a flag that was generalised or left out.
    """
    published = set(spec.published_fields)
    out = []
    for f in SCHEMA.ctdc_fields:
        if f.type == "concatenation":
            flags = SCHEMA.flags_of(f.of or "")
            if all(g.name in published and levels.get(g.name, 0) == 0 for g in flags):
                out.append(f)
        elif f.name in published:
            out.append(f)
    return out


def _to_ctdc_distinct(frame: pd.DataFrame) -> pd.DataFrame:
    """``to_ctdc`` computed once per distinct row and spread back (its concatenations are
    row-wise; case rows repeat a lot). Exact: the spread is compared with the input."""
    frame = frame.reset_index(drop=True)
    if frame.empty or not len(frame.columns):
        return to_ctdc(frame)
    codes, uniques = pd.factorize(pd.util.hash_pandas_object(frame, index=False))
    representative = np.empty(len(uniques), dtype=np.int64)
    representative[codes] = np.arange(len(codes))  # any row of a group will do
    distinct = frame.iloc[representative].reset_index(drop=True)
    if not distinct.iloc[codes].reset_index(drop=True).equals(frame):
        return to_ctdc(frame)  # a hash collision: astronomically rare, but never wrong
    return to_ctdc(distinct).iloc[codes].reset_index(drop=True)


def _published_frame(kept: pd.DataFrame, codes: Mapping[str, npt.NDArray[np.int64]],
                     hierarchies: Mapping[str, Hierarchy], levels: Mapping[str, int],
                     spec: KAnonSpec) -> pd.DataFrame:
    """The kept records in CTDC form: QI columns hold their labels at the chosen levels,
    every other column is ``to_ctdc``'s."""
    fields = _published_ctdc_fields(spec, levels)
    base = kept.reset_index(drop=True)
    others = [f.name for f in fields if f.type != "concatenation" and f.name not in levels]
    joined = [g.name for f in fields if f.type == "concatenation"
              for g in SCHEMA.flags_of(f.of or "")]
    ctdc = _to_ctdc_distinct(base[[c for c in dict.fromkeys([*others, *joined])
                                   if c in base.columns]])
    columns: dict[str, pd.Series] = {}
    for f in fields:
        assert f.ctdc is not None
        if f.name not in levels:
            columns[f.ctdc] = ctdc[f.ctdc]
            continue
        labels = np.array(hierarchies[f.name].labels[levels[f.name]], dtype=object)
        published = pd.Series(labels[codes[f.name]], dtype="string")
        published = published.mask(published == MISSING)
        if levels[f.name] == 0 and f.type in ("year", "flag"):
            # The value itself: keep CTDC's integer column type.
            published = pd.to_numeric(published).astype("Int16" if f.type == "year" else "Int8")
        columns[f.ctdc] = published
    return pd.DataFrame(columns, index=pd.RangeIndex(len(base)))


def anonymise(frame: pd.DataFrame, spec: KAnonSpec, *, seed: int | None = None) -> KAnonResult:
    """Generalise and suppress ``frame`` (internal-form cases) until it is k-anonymous with
    the least information loss, and return the verified, CTDC-compatible rows.

    ``seed`` fixes the row shuffle for tests; leave it None in releases (fresh entropy),
    since anyone who knows the seed can undo the shuffle and recover the input order.
    Raises KAnonymityInfeasible when no node reaches k within the suppression limit, and
    KAnonymityFailed when the published frame fails verification. Nothing is written here.
    """
    n = len(frame)
    qis = spec.quasi_identifiers
    years = _year_domain(frame, spec)
    hierarchies = {q: hierarchy_for(q, years=years) for q in qis}
    # A QI the snapshot lacks altogether is "not supplied" for every case.
    codes = {q: hierarchies[q].key_codes(
        frame[q] if q in frame.columns else pd.Series(pd.NA, index=frame.index, dtype=object))
        for q in qis}
    freq = frequency_set(codes)
    lattice = Lattice([hierarchies[q] for q in qis], freq, k=spec.k,
                      max_suppressed=max_suppressed(n, spec.max_suppression),
                      metric=spec.loss_metric)
    found = search(lattice) if n else None
    if found is None:
        raise KAnonymityInfeasible(
            f"no generalisation makes the snapshot {spec.k}-anonymous within the"
            f" {spec.max_suppression:.0%} suppression limit",
            hint="the snapshot has fewer cases than k; publish when more cases are in")
    node = found.best.levels
    levels = dict(zip(qis, node, strict=True))

    kept = lattice.combination_class_sizes(node)[freq.of_row] >= spec.k
    if int(n - kept.sum()) != found.best.suppressed:
        raise InternalError("row-level suppression disagrees with the lattice count")
    rows = np.flatnonzero(kept)

    out = _published_frame(frame.iloc[rows], {q: c[rows] for q, c in codes.items()},
                           hierarchies, levels, spec)
    # Row order can leak upload order (or the snapshot's key order): publish it shuffled,
    # on a fresh index so the old positions do not travel along.
    order = np.random.default_rng(seed).permutation(len(out))
    out = out.iloc[order].reset_index(drop=True)

    qi_ctdc = [_ctdc(q) for q in qis]
    checked = verify(out, qi_ctdc, spec.k, [_ctdc(s) for s in spec.sensitive])
    sizes = lattice.class_sizes(node)
    if checked.k != int(sizes.min()) or checked.classes != len(sizes):
        raise KAnonymityFailed("the published classes differ from the searched ones",
                               hint="nothing was published; this is a bug")
    return KAnonResult(
        frame=out, levels=levels, suppressed=found.best.suppressed,
        information_loss=found.best.loss,
        class_sizes=dict(sorted(Counter(sizes.tolist()).items())),
        k_achieved=checked.k, l_diversity=dict(checked.l_diversity), spec=spec,
        hierarchies=hierarchies, records_in=n, lattice_size=found.lattice_size,
        nodes_evaluated=found.evaluated)

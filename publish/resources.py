"""What a release publishes: resources built by privacy/, each with what protects it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from privacy.dp_tables import DpTable
from privacy.kanon.product import KAnonResult
from privacy.synthetic import publication as synthetic_publication
from privacy.synthetic.result import SyntheticResult
from schemas.table_schema import aggregate_table_schema

Method = Literal["dp-table", "k-anonymity", "dp-synthetic"]


@dataclass(frozen=True)
class Resource:
    """One published file: its rows, Table Schema, privacy parameters and report."""

    name: str
    title: str
    description: str
    method: Method
    frame: pd.DataFrame
    schema: dict[str, Any]
    privacy: dict[str, Any]
    report_markdown: str = ""
    #: the title in the site's other languages (language code -> title)
    titles: dict[str, str] = field(default_factory=dict)

    @property
    def synthetic(self) -> bool:
        return self.method == "dp-synthetic"


def from_kanon(result: KAnonResult) -> Resource:
    """k-anonymised microdata; its privacy object names k and the quasi-identifiers."""
    return Resource(
        name="cases_kanon",
        title=f"Case-level data, k-anonymised (k = {result.spec.k})",
        titles={"fr": f"Données individuelles, k-anonymisées (k = {result.spec.k})"},
        description=("One row per identified victim, in CTDC's columns and labels, generalised "
                     "and suppressed until every combination of the quasi-identifiers is shared "
                     f"by at least {result.spec.k} cases. Rows are shuffled."),
        method="k-anonymity",
        frame=result.frame,
        schema=result.table_schema(),
        privacy=result.privacy(),
        report_markdown=result.report_markdown(),
    )


def from_synthetic(result: SyntheticResult) -> Resource:
    """DP synthetic microdata, marked synthetic in its name, title and privacy object."""
    return Resource(
        name="cases_synthetic",
        title="SYNTHETIC case-level data (differentially private)",
        titles={"fr": "Données individuelles SYNTHÉTIQUES (confidentialité différentielle)"},
        description=("Synthetic records drawn from a differentially private model of the "
                     "cases: no row is a real person. Good for exploring patterns across "
                     "variables; not for counting rare groups."),
        method="dp-synthetic",
        frame=synthetic_publication.to_published(result),
        schema=synthetic_publication.table_schema(result),
        privacy=synthetic_publication.privacy(result),
        report_markdown=synthetic_publication.report_markdown(result),
    )


def from_dp_table(table: DpTable) -> Resource:
    """A DP aggregate table as a resource; its privacy object states the exact guarantee."""
    dims = ", ".join(table.spec.dimensions)
    return Resource(
        name=table.spec.name,
        title=table.spec.title,
        titles=dict(table.spec.titles),
        description=(f"Differentially private counts of identified victims by {dims}, over "
                     "every category of the public vocabularies (empty cells included)."),
        method="dp-table",
        frame=table.frame,
        schema=aggregate_table_schema(table.spec.dimensions),
        privacy={
            "method": "dp-table",
            "mechanism": "discrete Gaussian (OpenDP)",
            "noise": table.noise,  # "opendp-csprng", or "seeded" (reproducible with the seed)
            "unit": "one case (one identified victim)",
            "rho": float(table.rho),
            "epsilon": table.epsilon,
            "delta": table.delta,
            "noise_scale": table.scale,
            "ci95_half_width": table.accuracy95,
            "threshold": table.threshold,
            "dimensions": list(table.spec.dimensions),
            "post_processing": "nested tables reconciled (GLS), non-negative integers that "
                               "add up to their margins",
        },
        report_markdown=(
            f"Discrete Gaussian noise with scale {table.scale:.3g} (rho = {float(table.rho):.4g};"
            f" epsilon = {table.epsilon:.3g} at delta = {table.delta:.0e}); 95% of published "
            f"counts lie within ±{table.accuracy95:.0f} of the count the noise was added to. "
            f"Counts below {table.threshold} are withheld (flag c)."
            + (" The noise was drawn by a sampler keyed by a secret release seed (same "
               "distribution and scale): whoever holds the seed can reproduce this table, so "
               "it is kept secret like a key." if table.noise == "seeded" else "")),
    )

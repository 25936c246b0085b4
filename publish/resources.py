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
    cohorts = f"{table.cohorts[0]}-{table.cohorts[-1]}" if table.cohorts else "none"
    return Resource(
        name=table.spec.name,
        title=table.spec.title,
        titles=dict(table.spec.titles),
        description=(f"Differentially private counts of identified victims by {dims}, over "
                     "every category of the public vocabularies (empty cells included): the "
                     f"sum of the measurements of each cohort ({cohorts}), reconciled."),
        method="dp-table",
        frame=table.frame,
        schema=aggregate_table_schema(table.spec.dimensions),
        privacy={
            "method": "dp-table",
            "mechanism": "discrete Gaussian (OpenDP)",
            "noise": table.noise,  # "opendp-csprng", or "seeded" (reproducible with the seed)
            "unit": "one person (records of the same person linked across partners)",
            "measured": "per cohort (persons by year first registered); cells over several "
                        "cohorts are sums of their measurements",
            "cohorts": list(table.cohorts),
            "rho": float(table.rho),
            "epsilon": table.epsilon,
            "delta": table.delta,
            "noise_scale": table.scale,
            "ci95_half_width": table.accuracy95,
            "threshold": table.threshold,
            "dimensions": list(table.spec.dimensions),
            "raw_measurements": f"{table.spec.name}_raw",
            "post_processing": "nested tables reconciled (GLS), non-negative integers that "
                               "add up to their margins; cells published by the rule in the "
                               "methodology, with intervals that hold for published cells",
        },
        report_markdown=(
            f"Measured for each cohort with discrete Gaussian noise of scale {table.scale:.3g}"
            f" (rho = {float(table.rho):.4g} per person; epsilon = {table.epsilon:.3g} at "
            f"delta = {table.delta:.0e}). A one-cohort cell is published when its measurement"
            f" reaches {table.threshold}; 95% of one-cohort measurements lie within "
            f"±{table.accuracy95:.0f} of the true count. The unbiased raw measurements are in "
            f"`{table.spec.name}_raw`."
            + (" The noise was drawn by a sampler keyed by a secret release seed (same "
               "distribution and scale): whoever holds the seed can reproduce this table, so "
               "it is kept secret like a key." if table.noise == "seeded" else "")),
    )


def from_dp_table_raw(table: DpTable) -> Resource:
    """A table's raw measurements: unbiased sums over cohorts (may be negative), variances."""
    dims = list(table.spec.dimensions)
    schema = aggregate_table_schema(table.spec.dimensions)
    fields = [f for f in schema["fields"] if f["name"] in dims]
    fields += [
        {"name": "estimate", "type": "integer",
         "description": "Sum over cohorts of the raw noisy measurements of this cell: "
                        "unbiased, not clipped or rounded, may be negative."},
        {"name": "variance", "type": "number",
         "description": "Variance of the noise in `estimate` (sum of the cohorts' noise "
                        "variances); its square root is the standard error."},
    ]
    return Resource(
        name=f"{table.spec.name}_raw",
        title=f"{table.spec.title} (raw noisy measurements)",
        titles={k: f"{v} (mesures bruitées brutes)" for k, v in table.spec.titles.items()},
        description=("The unbiased noisy measurements behind the published table, before any "
                     "post-processing (no clipping, rounding, reconciliation or withholding): "
                     "for researchers who model the noise. Cells of a true zero are mostly "
                     "small positive or negative numbers."),
        method="dp-table",
        frame=table.raw,
        # No primaryKey: a dimension's "not supplied" cell is empty, which a key may not be.
        schema={**schema, "fields": fields},
        privacy={"method": "dp-table", "mechanism": "discrete Gaussian (OpenDP)",
                 "noise": table.noise,  # a seed's holder can remove it here too
                 "unit": "one person", "rho": float(table.rho), "epsilon": table.epsilon,
                 "delta": table.delta, "noise_scale": table.scale,
                 "cohorts": list(table.cohorts), "raw": True,
                 "dimensions": dims},
    )

"""How synthetic data is published: CTDC-compatible rows, its privacy object, its methodology."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pandas as pd

from privacy.synthetic.result import PRODUCT, SyntheticResult
from schemas.ctdc_form import to_ctdc
from schemas.definition import SCHEMA, Field
from schemas.table_schema import ctdc_table_schema

# File and resource names carry the word, so a copy on its own still says what it is.
RESOURCE_NAME = "cases_synthetic"
TITLE = "Synthetic case-level data (differentially private; no row is a real person)"


def _published_fields(result: SyntheticResult) -> list[Field]:
    """The CTDC columns the synthetic rows fill, in CTDC order.

    A concatenation is published only when every flag of its group was synthesized: joining a
    subset of the flags would state "these and no others" about flags never modelled.
    """
    present = set(result.frame.columns)
    out = []
    for f in SCHEMA.ctdc_fields:
        if f.type == "concatenation":
            group = SCHEMA.flags_of(f.of or "")
            if group and all(g.name in present for g in group):
                out.append(f)
        elif f.name in present:
            out.append(f)
    return out


def to_published(result: SyntheticResult) -> pd.DataFrame:
    """The synthetic rows in CTDC-compatible form (CTDC names, labels, 1/0 flags, alpha-2)."""
    columns = [f.ctdc for f in _published_fields(result) if f.ctdc]
    frame = to_ctdc(result.frame)[columns]
    return frame.reset_index(drop=True)


def table_schema(result: SyntheticResult) -> dict[str, Any]:
    """Frictionless Table Schema of ``to_published``; every description says it is synthetic."""
    columns = [f.ctdc for f in _published_fields(result) if f.ctdc]
    schema = ctdc_table_schema(columns=columns)
    for entry in schema["fields"]:
        entry["description"] = f"{entry['description']} Synthetic (DP): no row is a real case."
    return schema


def _epsilon(result: SyntheticResult) -> float:
    return float(result.params.get("epsilon", max(s.epsilon for s in result.spends)))


def _delta(result: SyntheticResult) -> float:
    return float(result.params.get("delta", max(s.delta for s in result.spends)))


def _ctdc_axis(axis: str) -> str:
    """An axis label in CTDC's column names: 'citizenship (top 4 ...)' keeps its qualifier."""
    name, sep, qualifier = axis.partition(" (")
    ctdc = SCHEMA.field(name).ctdc or name
    return f"{ctdc}{sep}{qualifier}"


def _marginals(result: SyntheticResult) -> list[list[str]] | str:
    if result.method == "pac-synth":
        length = result.params.get("reporting_length", 3)
        return f"every combination of up to {length} columns (pac-synth aggregates)"
    return [[_ctdc_axis(a) for a in m["columns"]] for m in result.utility.get("marginals", [])]


def privacy(result: SyntheticResult) -> dict[str, Any]:
    """The datapackage resource's ``privacy`` object: exactly what protects the file."""
    rho = result.rho
    return {
        "method": PRODUCT,
        "synthetic": True,
        "synthesizer": result.params.get("synthesizer", result.method),
        "unit": "one case (one identified victim)",
        "epsilon": _epsilon(result),
        "delta": _delta(result),
        "rho": None if rho is None else float(rho),
        "rho_exact": None if rho is None else str(rho),
        "guarantee": ("rho-zCDP, reported as (epsilon, delta)-DP" if rho is not None
                      else "(epsilon, delta)-DP only (no zCDP bound)"),
        "accounting": ("charged to the budget ledger as rho (zCDP)" if rho is not None
                       else "charged to the budget ledger as (epsilon, delta), composed with "
                            "the snapshot's zCDP spends by basic composition"),
        "noise": result.params.get("noise", "pac-synth" if result.method == "pac-synth"
                                   else "opendp-csprng"),
        "marginals": _marginals(result),
        "columns": [f.ctdc for f in _published_fields(result) if f.ctdc],
        "rows": len(result.frame),
    }


def _fmt_rho(rho: Fraction | None) -> str:
    return "" if rho is None else f"rho = {float(rho):.4g} (zCDP), "


def report_markdown(result: SyntheticResult) -> str:
    """The codebook/methodology section: what the synthetic file is good for, and what not."""
    eps, delta = _epsilon(result), _delta(result)
    lines = [
        "## Synthetic case-level data",
        "",
        "**Every row is synthetic.** The rows were generated from differentially private "
        "statistics of the case data; no row describes a real person, and a row that resembles "
        "someone you know does so by chance.",
        "",
        f"Privacy: {_fmt_rho(result.rho)}epsilon = {eps:.3g} at delta = {delta:.0e}, per case "
        f"(one identified victim). Synthesizer: {result.params.get('synthesizer', result.method)}.",
        "",
        "**Good for:** exploring patterns and training analyses on realistic rows; each "
        "column's distribution; the combinations of columns listed below, which the "
        "synthesizer measured directly.",
        "",
        "**Not good for:** counting small groups or rare combinations (they can be invented, "
        "lost or inflated by the noise); any statement about an individual; official counts — "
        "use the DP tables, which carry error bars, for those.",
        "",
    ]
    if result.method == "marginal":
        u = result.utility
        lines += [
            f"Rows: {u['rows']} (the number of cases, estimated with noise: "
            f"{u['n_estimate']} ± {1.96 * u['n_estimate_sd']:.0f} at 95%).",
            "",
            "| measured marginal | cells | 95% error per count | expected error (TVD) |",
            "|---|---|---|---|",
        ]
        for m in u["marginals"]:
            if m["role"] != "network":
                continue
            axes = " × ".join(_ctdc_axis(a) for a in m["columns"])
            lines.append(f"| {axes} | {m['cells']} | ±{m['count_accuracy95']} | "
                         f"{m['expected_tvd']:.3f} |")
        one = u["marginals"][: len(u["compressed_domains"])]
        worst = max((m["count_accuracy95"] for m in one), default=0)
        lines += [
            "",
            f"Each column's own distribution was measured too (95% error per count up to "
            f"±{worst}). The expected error is the total variation distance between the "
            "measured and true shares of that combination, estimated from the noisy counts "
            "alone; the synthetic rows add the model's own error, typically of the same "
            "order. Combinations not listed are implied by the model, not measured: treat "
            "them as rough. Values with few cases were pooled when measuring combinations, "
            "so their links to other columns are not preserved.",
        ]
    else:
        lines += [
            "pac-synth measured noisy counts of every combination of up to "
            f"{result.params.get('reporting_length', 3)} values, kept those above its noise "
            "threshold, and built rows from them; it does not report its noise scales.",
        ]
    return "\n".join(lines) + "\n"

"""The published utility report of the marginal synthesizer, computed from DP outputs only."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from privacy.mechanisms import discrete_gaussian_half_width
from privacy.synthetic.marginal import Measurements, NoisyTable, project_simplex

# It says which marginals were measured, over which (compressed) domains, with which noise,
# and the error that implies. It never looks at the data, so it may leave the secure zone
# with the rows; how the rows compare with the real data is measured in bench/ only.
_HALF_NORMAL_MEAN = math.sqrt(2 / math.pi)
# Replicates of the parametric bootstrap below; a fixed seed keeps the report reproducible
# (it is post-processing of DP outputs: no privacy rests on this generator).
_REPLICATES = 8
_SEED = 20240


def _bootstrap_tvd(table: NoisyTable, n_hat: float) -> float:
    """Expected TVD of this marginal after post-processing, estimated from DP outputs only:
    take the fitted noisy table as the truth, measure it again with the same noise, fit, and
    average the distance. (Projection onto the simplex removes much of the noise in empty
    cells, so this is far below the raw-noise figure for sparse tables.)"""
    n = max(n_hat, 1.0)
    fitted = project_simplex(table.counts.astype(np.float64), n).ravel()
    rng = np.random.default_rng(_SEED)
    out = []
    for _ in range(_REPLICATES):
        again = project_simplex(fitted + rng.normal(0.0, table.scale, fitted.size), n)
        out.append(0.5 * float(np.abs(again - fitted).sum()) / n)
    return float(np.mean(out))


def _entry(table: NoisyTable, n_hat: float, role: str) -> dict[str, Any]:
    cells = int(table.counts.size)
    # E|noise| summed over the cells, over 2 n: the total variation distance the noise alone
    # would add to this marginal's shares before post-processing (which only shrinks it).
    tvd = min(1.0, 0.5 * _HALF_NORMAL_MEAN * table.scale * cells / max(n_hat, 1.0))
    return {
        "columns": list(table.columns),
        "kind": f"{len(table.columns)}-way",
        "role": role,
        "cells": cells,
        "noise_scale": round(table.scale, 3),
        "rho": str(table.rho),
        "count_accuracy95": discrete_gaussian_half_width(table.scale),
        "expected_tvd_from_noise": round(tvd, 4),
        "expected_tvd": round(min(tvd, _bootstrap_tvd(table, n_hat)), 4),
    }


def marginal_utility(meas: Measurements, rows: int) -> dict[str, Any]:
    """What the synthetic rows preserve and how well, from the measurements alone."""
    n_hat = meas.n_hat
    marginals = [_entry(t, n_hat, "one-way") for t in meas.one_way]
    for child in meas.order[1:]:
        marginals.append(_entry(meas.tables[child], n_hat, "network"))
    compressed = {}
    for name, clear in zip(meas.domain.columns, meas.clear, strict=True):
        compressed[name] = {"values": int(clear.size), "kept": int(clear.sum()),
                            "pooled": int((~clear).sum())}
    return {
        "method": "marginal",
        "n_estimate": round(n_hat),
        "n_estimate_sd": round(meas.n_hat_sd, 2),
        "rows": rows,
        "marginals": marginals,
        "network": [{"child": s.child, "parents": list(s.parents)} for s in meas.selections],
        "compressed_domains": compressed,
        "notes": [
            "Preserved: every column's distribution, and the 2- and 3-way marginals listed "
            "with role 'network'. Other combinations are implied by the network and may be "
            "off, most of all for combinations of rare values.",
            "Values with a noisy count under the compression threshold are pooled in the "
            "2- and 3-way marginals and spread back by their noisy 1-way counts, so their "
            "links to other columns are not preserved.",
            "expected_tvd_from_noise is the total variation distance the measurement noise "
            "alone would add to that marginal before post-processing; expected_tvd estimates "
            "it after post-processing (a parametric bootstrap on the noisy marginal itself); "
            "count_accuracy95 is the 95% half-width of each noisy count.",
        ],
    }

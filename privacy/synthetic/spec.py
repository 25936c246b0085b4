"""The synthetic-data plan: which columns, which synthesizer, what budget; validated before data."""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cache
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from privacy.mechanisms import epsilon_of
from schemas.definition import SCHEMA

# Fields a synthesizer may model: those whose domain is public (a vocabulary, a flag, a year).
SYNTHESIZABLE = tuple(f.name for f in SCHEMA.case_fields
                      if f.type in ("year", "category", "country", "flag"))

# A researcher-facing default close to CTDC's global synthetic dataset: who (demographics,
# citizenship), where (country of exploitation), what (exploitation types and sectors), how
# (means of control) and by whom (recruiter relationship). Derived flags (is_sex_and_labour)
# and near-constant flags (forced military, organ removal) are left out on purpose.
DEFAULT_COLUMNS: tuple[str, ...] = (
    "year_of_registration",
    "data_source",
    "gender",
    "age_broad",
    "majority_status",
    "citizenship",
    "country_of_exploitation",
    "is_forced_labour",
    "is_sexual_exploit",
    "is_other_exploit",
    "type_of_labour_domestic_work",
    "type_of_labour_construction",
    "type_of_sex_prostitution",
    "means_of_control_physical_abuse",
    "means_of_control_psychological_abuse",
    "means_of_control_threats",
    "means_of_control_restricts_movement",
    "means_of_control_not_specified",
    "is_abduction",
    "recruiter_relation_family",
    "recruiter_relation_friend",
    "recruiter_relation_intimate_partner",
    "recruiter_relation_other",
    "recruiter_relation_unknown",
)

# Grid on which a rho derived from an epsilon is expressed: exact, and short in the ledger.
_RHO_GRID = 10**9


@cache
def rho_for_epsilon(epsilon: float, delta: float) -> Fraction:
    """The largest rho (on a 1e-9 grid) whose (epsilon, delta) conversion stays within epsilon."""
    lo, hi = 0.0, max(1.0, epsilon)
    while epsilon_of(hi, delta) <= epsilon:
        hi *= 2
    for _ in range(80):
        mid = (lo + hi) / 2
        if epsilon_of(mid, delta) <= epsilon:
            lo = mid
        else:
            hi = mid
    rho = Fraction(math.floor(lo * _RHO_GRID), _RHO_GRID)
    # Rounding down keeps the guarantee; check it, since the map is computed in floats.
    while rho > 0 and epsilon_of(float(rho), delta) > epsilon:
        rho -= Fraction(1, _RHO_GRID)
    if rho <= 0:
        raise ValueError("epsilon is too small for this delta")
    return rho


PAC_SYNTH_DELTA = 1e-7


class SyntheticSpec(BaseModel):
    """One DP synthetic dataset. Frozen: a plan, inspected before any data is read.

    Give the budget as ``rho`` (zCDP) or as ``epsilon`` (with ``delta``), not both. The marginal
    synthesizer spends rho (converted from epsilon when that is what was given); pac-synth is
    (epsilon, delta)-DP and spends epsilon (converted from rho when that was given).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["marginal", "pac-synth"] = Field(
        default="marginal", description="synthesizer; the default is chosen by bench/synth.py")
    columns: tuple[str, ...] = Field(default=DEFAULT_COLUMNS, min_length=1)
    epsilon: float | None = Field(default=None, gt=0, description="(epsilon, delta) budget")
    rho: float | None = Field(default=None, gt=0, description="zCDP budget")
    delta: float = Field(default=1e-6, gt=0, lt=1e-3,
                         description="delta of the (epsilon, delta) report; pac-synth spends "
                                     "it (default 1e-7 there, within the default delta cap)")
    rows: int | None = Field(default=None, gt=0,
                             description="rows to synthesize; default: a DP estimate of n")
    year_min: int = Field(default=2015, ge=1900,
                          description="years before this are outside the domain")
    max_way: Literal[2, 3] = Field(
        default=3, description="largest marginal measured (2: a tree; 3: up to two parents)")

    @field_validator("columns")
    @classmethod
    def _public_domains(cls, columns: tuple[str, ...]) -> tuple[str, ...]:
        for c in columns:
            if c not in SYNTHESIZABLE:
                raise ValueError(f"{c!r} is not a case field with a public domain")
        if len(set(columns)) != len(columns):
            raise ValueError("a column is repeated")
        return columns

    @model_validator(mode="before")
    @classmethod
    def _pac_synth_delta(cls, data: object) -> object:
        # pac-synth spends its delta against the snapshot's delta cap (1e-6 by default), and
        # the zCDP spends are converted at what it leaves: 1e-7 leaves 9e-7 for them.
        if isinstance(data, dict) and data.get("method") == "pac-synth" and "delta" not in data:
            return {**data, "delta": PAC_SYNTH_DELTA}
        return data

    @model_validator(mode="after")
    def _one_budget(self) -> Self:
        if (self.epsilon is None) == (self.rho is None):
            raise ValueError("give exactly one of epsilon and rho")
        return self

    def budget_rho(self) -> Fraction:
        """The exact zCDP budget of the marginal synthesizer."""
        if self.rho is not None:
            # Via str: the decimal the spec wrote (0.3), not its nearest binary float.
            return Fraction(str(self.rho))
        assert self.epsilon is not None
        return rho_for_epsilon(self.epsilon, self.delta)

    def budget_epsilon(self) -> float:
        """The epsilon the spec allows at its delta (the pac-synth budget)."""
        if self.epsilon is not None:
            return self.epsilon
        assert self.rho is not None
        return epsilon_of(self.rho, self.delta)

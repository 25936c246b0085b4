"""Release specs: an immutable, validated plan of what to publish and what it may spend."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from privacy.errors import SpecInvalid
from privacy.kanon.spec import KAnonSpec
from privacy.ledger import Budget
from privacy.synthetic.spec import SyntheticSpec
from schemas.definition import SCHEMA

DEFAULT_SPEC = Path(__file__).parent / "default_release.yaml"
# Fields a DP table may be broken down by: those with a public domain.
TABULABLE = tuple(f.name for f in SCHEMA.case_fields
                  if f.type in ("year", "category", "country", "flag"))


class TableSpec(BaseModel):
    """One DP aggregate table: its dimensions and its share of the budget."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    #: the title in the site's other languages, by language code (e.g. fr)
    titles: dict[str, str] = Field(default_factory=dict)
    dimensions: tuple[str, ...] = Field(min_length=1, max_length=3)
    weight: float = Field(1.0, gt=0)

    @field_validator("titles")
    @classmethod
    def _language_codes(cls, titles: dict[str, str]) -> dict[str, str]:
        for code in titles:
            if not re.fullmatch(r"[a-z]{2}", code):
                raise ValueError(f"{code!r} is not a two-letter language code")
        return titles

    @field_validator("dimensions")
    @classmethod
    def _public_domains(cls, dims: tuple[str, ...]) -> tuple[str, ...]:
        for d in dims:
            if d not in TABULABLE:
                raise ValueError(f"{d!r} is not a field with a public domain")
        if len(set(dims)) != len(dims):
            raise ValueError("a dimension is repeated")
        return dims


class DpTablesSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rho: float = Field(gt=0, description="zCDP budget of all tables together")
    delta: float = Field(1e-9, gt=0, lt=1e-3, description="delta for the reported (eps, delta)")
    mechanism: Literal["discrete_gaussian"] = "discrete_gaussian"
    threshold: int = Field(5, ge=0, description="noisy counts below this are withheld (flag c)")
    unreliable_share: float = Field(
        0.5, gt=0, description="flag u when the 95% half-width exceeds this share of the count")
    tables: tuple[TableSpec, ...] = Field(min_length=1)

    @field_validator("tables")
    @classmethod
    def _unique_names(cls, tables: tuple[TableSpec, ...]) -> tuple[TableSpec, ...]:
        # Each table becomes a file and a resource of the release, named after it.
        names = [t.name for t in tables]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"table names must be unique: {', '.join(repeated)} repeated")
        return tables

    def rho_of(self, table: TableSpec) -> Fraction:
        """Exact budget share of one table."""
        # Via str: the decimal the spec wrote (0.3), not its nearest binary float.
        total = sum(Fraction(str(t.weight)) for t in self.tables)
        return Fraction(str(self.rho)) * Fraction(str(table.weight)) / total


class ReleaseSpec(BaseModel):
    """What a release publishes. Frozen: it is a plan, inspected before data is read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = "Counter-trafficking case data"
    year_min: int = 2015
    dp_tables: DpTablesSpec
    kanon: KAnonSpec | None = None
    synthetic: SyntheticSpec | None = None

    def planned_rho(self) -> Fraction:
        """The zCDP part of what this release would spend, known before any data is read."""
        return self.planned().rho

    def planned(self) -> Budget:
        """Everything this release would spend on each cohort it measures in full.

        The DP tables and the marginal synthesizer spend zCDP rho; pac-synth is only
        (epsilon, delta)-DP, so it spends exactly the epsilon and delta it is given
        (``privacy.ledger`` composes the two kinds against the cap).
        """
        return Budget(rho=Fraction(str(self.dp_tables.rho))) + self.synthetic_budget()

    def synthetic_budget(self) -> Budget:
        """What the synthetic product spends on each cohort it measures."""
        if self.synthetic is None:
            return Budget()
        if self.synthetic.method == "pac-synth":
            return Budget(approx_epsilon=Fraction(self.synthetic.budget_epsilon()),
                          approx_delta=Fraction(self.synthetic.delta))
        return Budget(rho=self.synthetic.budget_rho())


def parse_spec(text: str, source: str = "spec") -> ReleaseSpec:
    try:
        data = yaml.safe_load(text)
        return ReleaseSpec.model_validate(data)
    except yaml.YAMLError as err:
        raise SpecInvalid(f"{source}: not valid YAML") from err
    except ValidationError as err:
        first = err.errors()[0]
        path = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise SpecInvalid(f"{source}: {path}: {first['msg']}") from err


def load_spec(path: Path | None = None) -> ReleaseSpec:
    path = path or DEFAULT_SPEC
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SpecInvalid(f"{path.name}: cannot be read") from err
    return parse_spec(text, path.name)

"""What a synthesizer returns: synthetic rows, what they spent, and a DP-only utility report."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import pandas as pd

PRODUCT = "dp-synthetic"


@dataclass(frozen=True)
class SyntheticSpend:
    """One budget item, shaped like ``privacy.ledger.Spend`` but allowing ``rho=None``.

    ``rho`` is None when the guarantee is only (epsilon, delta) (pac-synth): (epsilon, delta)-DP
    does not imply any zCDP bound, so no rho may be written for it.
    """

    product: str
    item: str
    rho: Fraction | None
    epsilon: float
    delta: float


@dataclass(frozen=True)
class SyntheticResult:
    """Synthetic rows in the internal form and exactly what protects them.

    ``utility`` is computed from DP outputs only (noisy marginals and their noise scales), so
    it may be published; evaluation against the real data belongs in bench/ and tests only.
    """

    frame: pd.DataFrame
    spends: list[SyntheticSpend]
    utility: dict[str, Any]
    method: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def rho(self) -> Fraction | None:
        """Total zCDP spend, or None when the guarantee is only (epsilon, delta)."""
        if any(s.rho is None for s in self.spends):
            return None
        return sum((s.rho for s in self.spends if s.rho is not None), Fraction(0))

    def to_published(self) -> pd.DataFrame:
        """The rows in CTDC-compatible form (see ``privacy.synthetic.publication``)."""
        from privacy.synthetic.publication import to_published

        return to_published(self)

    def privacy(self) -> dict[str, Any]:
        """The datapackage resource's ``privacy`` object."""
        from privacy.synthetic.publication import privacy

        return privacy(self)

    def report_markdown(self) -> str:
        """The methodology section: what the file is good for and what not."""
        from privacy.synthetic.publication import report_markdown

        return report_markdown(self)

    def table_schema(self) -> dict[str, Any]:
        """Frictionless Table Schema of ``to_published()``."""
        from privacy.synthetic.publication import table_schema

        return table_schema(self)

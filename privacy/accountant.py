"""The one accountant of a release: every DP measurement is made through it and charged to the
cohort it reads by what OpenDP's privacy map says, never by a second list of planned figures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from privacy.ledger import Budget, Spend, budget_of
from privacy.mechanisms import TABLE_SENSITIVITY
from privacy.noise import NoiseKind, NoiseSource, gaussian_measurement, noisy_max_measurement
from schemas.errors import InternalError

# Like OpenDP's odometers and Tumult's accountant: the plan (what each product may spend on
# each cohort) is fixed and checked against the lifetime caps before any data is read; during
# the release every measurement asks the accountant, which computes the measurement's privacy
# loss from OpenDP's own privacy map, refuses one that would exceed the product's allotment,
# and keeps the running total. What the ledger records is that total: what was spent.

Key = tuple[int, str]  # (cohort, product)


@dataclass
class Accountant:
    """Allotments per (cohort, product), and what the measurements actually spent."""

    allotments: Mapping[Key, Budget]
    revision: frozenset[int] = frozenset()
    _spent: dict[tuple[int, str, str], Budget] = field(default_factory=dict)

    def source(self, noise: NoiseSource, cohort: int, product: str, item: str) -> ChargedNoise:
        """A noise source whose every draw is charged to ``cohort`` for ``product``/``item``."""
        if (cohort, product) not in self.allotments:
            raise InternalError(f"product {product} has no allotment for cohort {cohort}")
        return ChargedNoise(noise, self, cohort, product, item)

    def charge(self, cohort: int, product: str, item: str, cost: Budget) -> None:
        """Add one measurement's loss; refuse it when the product's allotment would overflow."""
        allotted = self.allotments.get((cohort, product))
        used = self.used(cohort, product) + cost
        if allotted is None or used.rho > allotted.rho or (
                used.approx_epsilon > allotted.approx_epsilon
                or used.approx_delta > allotted.approx_delta):
            raise InternalError(f"{product} tried to spend more on cohort {cohort} than its "
                                "plan allows; nothing of this release is recorded")
        key = (cohort, product, item)
        self._spent[key] = self._spent.get(key, Budget()) + cost

    def approx(self, cohort: int, product: str, item: str, epsilon: float,
               delta: float) -> None:
        """Charge an (epsilon, delta)-DP measurement made outside OpenDP (pac-synth)."""
        self.charge(cohort, product, item, budget_of(Spend(cohort, product, item, None,
                                                           epsilon, delta)))

    def used(self, cohort: int, product: str) -> Budget:
        total = Budget()
        for (c, p, _item), b in self._spent.items():
            if c == cohort and p == product:
                total = total + b
        return total

    def by_cohort(self) -> dict[int, Budget]:
        out: dict[int, Budget] = {}
        for (c, _p, _i), b in self._spent.items():
            out[c] = out.get(c, Budget()) + b
        return out

    @property
    def spends(self) -> list[Spend]:
        """One row per (cohort, product, item): what the ledger records."""
        out = []
        for (cohort, product, item), b in sorted(self._spent.items()):
            if b.rho:
                out.append(Spend(cohort, product, item, b.rho,
                                 revision=cohort in self.revision))
            if b.approx_epsilon or b.approx_delta:
                out.append(Spend(cohort, product, item, None, float(b.approx_epsilon),
                                 float(b.approx_delta), revision=cohort in self.revision))
        return out


@dataclass(frozen=True)
class ChargedNoise:
    """A NoiseSource that charges every draw to one cohort before drawing it."""

    inner: NoiseSource
    accountant: Accountant
    cohort: int
    product: str
    item: str

    @property
    def kind(self) -> NoiseKind:
        return self.inner.kind

    def discrete_gaussian(self, counts: Sequence[int], scale: float, label: str) -> list[int]:
        # Every vector measured here is a contingency table of the cohort's persons, one cell
        # each: L2 sensitivity 1 (the mechanisms' TABLE_SENSITIVITY).
        rho = Fraction(gaussian_measurement(scale).map(TABLE_SENSITIVITY))
        self.accountant.charge(self.cohort, self.product, self.item, Budget(rho=rho))
        return self.inner.discrete_gaussian(counts, scale, label)

    def noisy_max(self, scores: Sequence[float], scale: float, label: str,
                  sensitivity: float = 1.0) -> int:
        rho = Fraction(noisy_max_measurement(scale).map(sensitivity))
        self.accountant.charge(self.cohort, self.product, self.item, Budget(rho=rho))
        return self.inner.noisy_max(scores, scale, label, sensitivity)

    def derive(self, context: str) -> ChargedNoise:
        return ChargedNoise(self.inner.derive(context), self.accountant, self.cohort,
                            self.product, self.item)

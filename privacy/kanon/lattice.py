"""Full-domain generalisation lattice search (Flash-style pruning) with record suppression."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy.kanon.hierarchies import Hierarchy
from schemas.errors import InternalError

LossMetric = Literal["ncp", "discernibility"]
Node = tuple[int, ...]
IntArray = npt.NDArray[np.int64]

# Losses closer than this are ties, broken by height, suppression, then the levels themselves.
TIE: float = 1e-12
# Dense counting (bincount over the whole key space) while the space is this small.
DENSE_LIMIT = 1 << 22
# Mixed-radix class keys stay below this, far from int64 overflow.
KEY_LIMIT = 1 << 62

UNKNOWN, INFEASIBLE, FEASIBLE = -1, 0, 1


@dataclass(frozen=True)
class FrequencySet:
    """Distinct level-0 quasi-identifier combinations, how many records share each, and the
    combination of every record."""

    codes: IntArray  # (combinations, quasi-identifiers): key indexes into each hierarchy
    counts: IntArray  # (combinations,)
    of_row: IntArray  # (records,): the combination of each record

    @property
    def n(self) -> int:
        return int(self.counts.sum())


def frequency_set(key_codes: Mapping[str, IntArray]) -> FrequencySet:
    """Group the records by their quasi-identifier keys: the one pass over the rows.

    Every node is then counted by rolling these combinations up (numpy, mixed-radix class
    keys and ``bincount``), never by touching the rows again.
    """
    frame = pd.DataFrame(dict(key_codes))
    if frame.empty:
        empty = np.zeros((0, len(frame.columns)), dtype=np.int64)
        return FrequencySet(empty, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    grouped = frame.groupby(list(frame.columns), sort=False)
    of_row = grouped.ngroup().to_numpy(dtype=np.int64)
    counts = grouped.size().to_numpy(dtype=np.int64)
    if not np.array_equal(np.bincount(of_row, minlength=len(counts)), counts):
        raise InternalError("groupby size() and ngroup() number the groups differently")
    # Any record of a combination carries its codes, so whichever one numpy writes last wins.
    representative = np.empty(len(counts), dtype=np.int64)
    representative[of_row] = np.arange(len(of_row))
    codes = frame.to_numpy(dtype=np.int64)[representative]
    return FrequencySet(codes, counts, of_row)


@dataclass(frozen=True)
class NodeResult:
    """One node checked: how many records it suppresses and what it loses."""

    levels: Node
    suppressed: int
    loss: float
    feasible: bool

    @property
    def height(self) -> int:
        return sum(self.levels)


@dataclass(frozen=True)
class SearchResult:
    """The chosen node and how much of the lattice had to be counted to find it."""

    best: NodeResult
    lattice_size: int
    evaluated: int
    feasible_nodes: int


class Lattice:
    """The generalisation lattice of one frequency set, with counting per node."""

    def __init__(self, hierarchies: Sequence[Hierarchy], freq: FrequencySet, *, k: int,
                 max_suppressed: int, metric: LossMetric) -> None:
        if freq.codes.shape[1] != len(hierarchies):
            raise ValueError("one hierarchy per quasi-identifier column is needed")
        self.hierarchies = tuple(hierarchies)
        self.freq = freq
        self.k = k
        self.max_suppressed = max_suppressed
        self.metric: LossMetric = metric
        self.n = freq.n
        self.q = len(hierarchies)
        self.tops: Node = tuple(h.top for h in hierarchies)
        cols = [freq.codes[:, j] for j in range(self.q)]
        # Per quasi-identifier and level: each combination's group, and its penalty.
        self._groups = [[h.group_codes(lv)[c] for lv in range(h.top + 1)]
                        for h, c in zip(hierarchies, cols, strict=True)]
        self._radix = [[h.groups(lv) for lv in range(h.top + 1)] for h in hierarchies]
        self._ncp = [[h.ncp(lv)[c] for lv in range(h.top + 1)]
                     for h, c in zip(hierarchies, cols, strict=True)]
        self._marginal = [[float((freq.counts * p).sum()) for p in per]
                          for per in self._ncp]

    @property
    def nodes(self) -> list[Node]:
        return list(itertools.product(*(range(t + 1) for t in self.tops)))

    def _classes(self, node: Node) -> tuple[IntArray, IntArray]:
        """Each combination's class index at ``node``, and the size of every class."""
        m = len(self.freq.counts)
        key = np.zeros(m, dtype=np.int64)
        space = 1  # a Python int: it cannot overflow, the int64 keys can
        for j, level in enumerate(node):
            radix = self._radix[j][level]
            if space * radix > KEY_LIMIT:
                # Renumber the keys seen so far (at most m) before they would overflow.
                _, key = np.unique(key, return_inverse=True)
                key, space = key.astype(np.int64), m
            key = key * radix + self._groups[j][level]
            space *= radix
        if space <= max(DENSE_LIMIT, 4 * m):
            sizes = np.bincount(key, weights=self.freq.counts, minlength=space)
            return key, sizes.astype(np.int64)
        _, inverse = np.unique(key, return_inverse=True)
        sizes = np.bincount(inverse, weights=self.freq.counts)
        return inverse.astype(np.int64), sizes.astype(np.int64)

    def combination_class_sizes(self, node: Node) -> IntArray:
        """For each combination of the frequency set, the size of its class at ``node``."""
        inverse, sizes = self._classes(node)
        return sizes[inverse]

    def class_sizes(self, node: Node) -> IntArray:
        """The sizes of the published (not suppressed) equivalence classes at ``node``."""
        _, sizes = self._classes(node)
        return np.sort(sizes[sizes >= self.k])

    def lower_bound(self, node: Node) -> float:
        """NCP of ``node`` if nothing were suppressed: a lower bound of its loss, monotone
        over the lattice (suppressing replaces a penalty of at most 1 by exactly 1)."""
        total = sum(self._marginal[j][level] for j, level in enumerate(node))
        return total / (self.n * self.q) if self.n else 0.0

    def evaluate(self, node: Node) -> NodeResult:
        per_combination = self.combination_class_sizes(node)
        small = per_combination < self.k
        suppressed = int(self.freq.counts[small].sum())
        if self.metric == "ncp":
            penalty = np.zeros(len(per_combination))
            for j, level in enumerate(node):
                penalty += self._ncp[j][level]
            kept = self.freq.counts * penalty
            total = float(kept[~small].sum()) + suppressed * self.q
            loss = total / (self.n * self.q) if self.n else 0.0
        else:
            # Discernibility: a kept record costs its class size, a suppressed one n.
            sizes = per_combination[~small].astype(np.float64)
            loss = float((sizes * self.freq.counts[~small]).sum()) + float(self.n) * suppressed
        return NodeResult(node, suppressed, loss, suppressed <= self.max_suppressed)


def max_suppressed(n: int, share: float) -> int:
    """The suppression limit in records; floor, so the share is never exceeded."""
    return math.floor(n * share + 1e-9)


def _better(a: NodeResult, b: NodeResult | None) -> bool:
    if b is None:
        return True
    if abs(a.loss - b.loss) > TIE * max(1.0, abs(b.loss)):
        return a.loss < b.loss
    return (a.height, a.suppressed, a.levels) < (b.height, b.suppressed, b.levels)


def search(lattice: Lattice) -> SearchResult | None:
    """The feasible node of least loss, or None when no node is feasible.

    A node is feasible when the records in classes smaller than k (to be suppressed) are
    within the limit. Generalising only merges classes, so feasibility is monotone: a
    feasible node's generalisations are feasible, an infeasible node's specialisations are
    not; each check tags such a cone, and chains are binary-searched as in ARX's Flash.
    """
    nodes = lattice.nodes
    grid = np.array(nodes, dtype=np.int64).reshape(len(nodes), lattice.q)
    where = {node: i for i, node in enumerate(nodes)}
    status = np.full(len(nodes), UNKNOWN, dtype=np.int8)
    no_suppression = np.zeros(len(nodes), dtype=bool)
    results: dict[Node, NodeResult] = {}
    lower = np.array([lattice.lower_bound(node) for node in nodes])

    def check(node: Node) -> NodeResult:
        if node not in results:
            r = results[node] = lattice.evaluate(node)
            row = grid[where[node]]
            if r.feasible:  # every generalisation is feasible too
                status[(grid >= row).all(axis=1)] = FEASIBLE
            else:  # every specialisation is infeasible too
                status[(grid <= row).all(axis=1)] = INFEASIBLE
            if r.suppressed == 0:  # merging classes can only keep them >= k
                no_suppression[(grid >= row).all(axis=1)] = True
        return results[node]

    # Phase 1, feasibility: from the lowest untagged node, climb a chain of untagged nodes
    # (cheapest step first) and binary-search it for the first feasible node. Each check
    # tags a cone, so most nodes are never counted.
    while (status == UNKNOWN).any():
        unknown = np.flatnonzero(status == UNKNOWN)
        start = nodes[unknown[np.lexsort((lower[unknown], grid[unknown].sum(axis=1)))[0]]]
        chain = [start]
        while True:
            steps = [(*chain[-1][:j], lv + 1, *chain[-1][j + 1:])
                     for j, lv in enumerate(chain[-1]) if lv < lattice.tops[j]]
            steps = [s for s in steps if status[where[s]] == UNKNOWN]
            if not steps:
                break
            chain.append(min(steps, key=lambda s: (lower[where[s]], s)))
        lo, hi = 0, len(chain) - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            state = status[where[chain[mid]]]
            ok = check(chain[mid]).feasible if state == UNKNOWN else state == FEASIBLE
            if ok:
                hi = mid - 1
            else:
                lo = mid + 1

    feasible = [nodes[i] for i in np.flatnonzero(status == FEASIBLE)]
    if not feasible:
        return None

    # Phase 2, optimum: loss is not monotone once suppression counts, so every feasible
    # node is a candidate. For NCP, visit them by lower bound and stop once the bound
    # exceeds the best loss found. A generalisation of a node that suppresses nothing
    # suppresses nothing either, so its loss is exactly its bound: no need to count it.
    best: NodeResult | None = None
    if lattice.metric == "ncp":
        for node in sorted(feasible, key=lambda s: (lower[where[s]], sum(s), s)):
            bound = float(lower[where[node]])
            if best is not None and bound > best.loss + TIE * max(1.0, best.loss):
                break
            if node not in results and no_suppression[where[node]]:
                candidate = NodeResult(node, 0, bound, True)
            else:
                candidate = check(node)
            if _better(candidate, best):
                best = candidate
    else:
        for node in feasible:
            candidate = check(node)
            if _better(candidate, best):
                best = candidate
    assert best is not None
    return SearchResult(best, len(nodes), len(results), len(feasible))

"""Where DP noise comes from: OpenDP's CSPRNG, or a secret seed for a reproducible release."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
import opendp.prelude as dp

from privacy.errors import SeedRejected

dp.enable_features("contrib")

NoiseKind = Literal["opendp-csprng", "seeded"]

# A seeded release is reproducible by whoever holds the seed, and whoever holds it can also
# regenerate the noise and subtract it from the published counts: the seed is as sensitive
# as the exact counts and must be kept like a key. It is never stored by ctcollab (not in the
# release folder, not in the database). A short or guessable seed would let anyone try
# candidates offline until the noise removed gives plausible counts, so such seeds are refused
# outright rather than warned about: at least 128 bits, written as hex
# (e.g. ``python -c "import secrets; print(secrets.token_hex(16))"``).
SEED_MIN_HEX = 32
# A 32-digit random hex string has fewer than 6 distinct digits with probability ~3e-13; a
# seed that does is almost certainly typed by hand ("0000…", "1234…"), so refuse it too.
SEED_MIN_DISTINCT = 6
_HEX = re.compile(r"^[0-9a-f]+$")

# Truncation point of the seeded sampler's support, in noise scales: the discrete Gaussian's
# mass beyond TAIL_SCALES * scale is about exp(-TAIL_SCALES^2 / 2) ~ 2^-72, far under the 2^-60
# a truncation may drop (checked for scales 0.5-1000 in tests/privacy/test_noise.py).
TAIL_SCALES = 10.0


class NoiseSource(Protocol):
    """Draws the noise of every DP measurement of a release."""

    @property
    def kind(self) -> NoiseKind:
        """What the datapackage states as the release's noise source."""
        ...

    def discrete_gaussian(self, counts: Sequence[int], scale: float, label: str) -> list[int]:
        """``counts`` plus discrete Gaussian noise of ``scale`` (calibration is the caller's)."""
        ...

    def noisy_max(self, scores: Sequence[float], scale: float, label: str,
                  sensitivity: float = 1.0) -> int:
        """Index chosen with probability proportional to exp(score / scale) (exponential mech.).

        ``sensitivity`` is the scores' L-infinity sensitivity: what the release's accountant
        evaluates OpenDP's privacy map at (the draw itself does not depend on it)."""
        ...

    def derive(self, context: str) -> NoiseSource:
        """The source for one product; a seeded one gets keys of its own for ``context``."""
        ...


@cache
def _gaussian(scale: float) -> Any:
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l2_distance(T=int)
    return dp.m.make_gaussian(*space, scale=scale)


@cache
def _noisy_max(scale: float) -> Any:
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.linf_distance(T=float)
    return dp.m.make_noisy_max(*space, dp.zero_concentrated_divergence(), scale=scale)


def gaussian_measurement(scale: float) -> Any:
    """OpenDP's discrete Gaussian on integer vectors (zCDP); its map is the privacy claim."""
    return _gaussian(scale)


def noisy_max_measurement(scale: float) -> Any:
    """OpenDP's report-noisy-max with Gumbel noise (the exponential mechanism, zCDP)."""
    return _noisy_max(scale)


@dataclass(frozen=True)
class OpenDPNoise:
    """OpenDP's own CSPRNG: not seedable, so two releases never share noise."""

    kind: NoiseKind = "opendp-csprng"

    def discrete_gaussian(self, counts: Sequence[int], scale: float, label: str) -> list[int]:
        return [int(v) for v in _gaussian(scale)(list(counts))]

    def noisy_max(self, scores: Sequence[float], scale: float, label: str,
                  sensitivity: float = 1.0) -> int:
        return int(_noisy_max(scale)([float(s) for s in scores]))

    def derive(self, context: str) -> NoiseSource:
        return self


OPENDP = OpenDPNoise()


def check_seed(seed: str) -> bytes:
    """The seed's bytes, or SeedRejected when it is too short or too regular to be secret."""
    text = seed.strip().lower()
    if not _HEX.match(text) or len(text) < SEED_MIN_HEX:
        raise SeedRejected(
            f"a release seed must be at least {SEED_MIN_HEX} hex digits (128 bits): whoever "
            "can guess it can remove the noise",
            hint='make one with: python -c "import secrets; print(secrets.token_hex(16))"')
    if len(set(text)) < SEED_MIN_DISTINCT:
        raise SeedRejected("the release seed looks typed by hand, not random",
                           hint='make one with: python -c "import secrets; '
                                'print(secrets.token_hex(16))"')
    return bytes.fromhex(text if len(text) % 2 == 0 else "0" + text)


def _digest(*parts: bytes | str) -> bytes:
    """SHA-256 over length-prefixed parts, so no two part lists share a digest."""
    h = hashlib.sha256()
    for p in parts:
        b = p.encode() if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "big"))
        h.update(b)
    return h.digest()


def _words(key: bytes, n: int) -> npt.NDArray[np.uint64]:
    """n uniform 64-bit words from SHAKE-256 keyed by ``key`` (a deterministic CSPRNG).

    Hand-written instead of numpy's Philox because Philox is a statistical generator, not a
    cryptographic one: an empty cell that clips to 0 shows an adversary much of its noise, and
    without the seed the noise must stay as unpredictable as OpenDP's.
    """
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    raw = hashlib.shake_256(key).digest(8 * n)
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64)


@cache
def _magnitude_thresholds(scale: float) -> npt.NDArray[np.uint64]:
    """t[k-1] = floor(P(|X| >= k) * 2^64) for k = 1..T, X discrete Gaussian of ``scale``.

    Survival probabilities are summed from the tail up, so small ones keep full relative
    precision (a CDF near 1 would round the tail away).
    """
    reach = math.ceil(TAIL_SCALES * scale) + 1
    x = np.arange(reach + 1, dtype=np.float64)
    w = np.exp(-(x * x) / (2 * scale * scale))
    mass = np.concatenate(([w[0]], 2 * w[1:]))  # P(|X| = k) up to the normaliser
    mass /= mass.sum()
    survival = np.cumsum(mass[::-1])[::-1]  # survival[k] = P(|X| >= k)
    # Not np.float64 -> uint64 directly: 2^64 * s can round up to 2^64 for s a hair below 1.
    scaled = np.minimum(np.ldexp(survival[1:], 64), np.nextafter(2.0**64, 0))
    out: npt.NDArray[np.uint64] = scaled.astype(np.uint64)
    return out


def seeded_discrete_gaussian(key: bytes, scale: float, n: int) -> npt.NDArray[np.int64]:
    """n draws of the discrete Gaussian of ``scale``, deterministic in ``key``.

    Hand-written (OpenDP's exact sampler cannot be seeded): inverse CDF of |X| on a 64-bit
    uniform word, over the support truncated at TAIL_SCALES scales, and a second word's low bit
    for the sign. Not bit-exact like OpenDP's sampler: its distribution is within total
    variation 2^-45 of the discrete Gaussian for every scale up to 1000 (tail mass < 2^-70,
    the rest from 64-bit thresholds and double rounding; tests/privacy/test_noise.py). That is
    the same zCDP guarantee up to an additive slack far below any delta reported (1e-9 ~ 2^-30).
    """
    thresholds = _magnitude_thresholds(scale)
    words = _words(key, 2 * n).reshape(n, 2) if n else np.zeros((0, 2), dtype=np.uint64)
    ascending = thresholds[::-1]
    # |X| = #{k : u < t_k}; t is decreasing, so count thresholds strictly above u.
    magnitude = len(ascending) - np.searchsorted(ascending, words[:, 0], side="right")
    sign = np.where((words[:, 1] & np.uint64(1)) == 1, -1, 1)
    out: npt.NDArray[np.int64] = (magnitude * sign).astype(np.int64)
    return out


def seeded_choice(key: bytes, weights: npt.NDArray[np.float64]) -> int:
    """One index drawn with probability proportional to ``weights``, by one 64-bit word."""
    survival = np.cumsum(weights[::-1])[::-1] / weights.sum()
    thresholds = np.minimum(np.ldexp(survival[1:], 64), np.nextafter(2.0**64, 0)).astype(np.uint64)
    u = _words(key, 1)[0]
    return int(np.count_nonzero(thresholds > u))


@dataclass(frozen=True)
class SeededNoise:
    """Noise keyed by a secret seed: the same key and label always give the same noise.

    Every draw's key is derived from the seed, the context (snapshot, product and what
    determines its plan) and the draw's own label, scale and size. So the same seed on another
    snapshot, another spec or another table draws unrelated noise: two releases never reuse
    noise on different questions (subtracting them would reveal exact counts), and the order of
    tables does not matter.
    """

    key: bytes
    kind: NoiseKind = "seeded"

    @classmethod
    def from_seed(cls, seed: str, snapshot_hash: str) -> SeededNoise:
        return cls(_digest(b"ctcollab-noise-v1", check_seed(seed), snapshot_hash))

    def derive(self, context: str) -> SeededNoise:
        return SeededNoise(_digest(self.key, context))

    def _key(self, what: str, label: str, scale: float, n: int) -> bytes:
        return _digest(self.key, what, label, scale.hex(), str(n))

    def discrete_gaussian(self, counts: Sequence[int], scale: float, label: str) -> list[int]:
        noise = seeded_discrete_gaussian(
            self._key("discrete-gaussian", label, scale, len(counts)), scale, len(counts))
        return [int(c) + int(e) for c, e in zip(counts, noise, strict=True)]

    def noisy_max(self, scores: Sequence[float], scale: float, label: str,
                  sensitivity: float = 1.0) -> int:
        s = np.asarray(scores, dtype=np.float64)
        # Same distribution as OpenDP's Gumbel-max: P(i) proportional to exp(score_i / scale).
        weights = np.exp((s - s.max()) / scale)
        return seeded_choice(self._key("noisy-max", label, scale, len(s)), weights)

    def post_processing_seed(self, label: str) -> int:
        """A seed for post-processing (e.g. sampling synthetic rows), derived from the key."""
        return int.from_bytes(_digest(self.key, "post-processing", label)[:8], "big")

"""Small numeric helpers shared by the generators."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


def largest_remainder(weights: Sequence[float], total: int) -> list[int]:
    """Integers proportional to ``weights`` that add up to exactly ``total``."""
    s = sum(weights)
    raw = [w * total / s for w in weights]
    out = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (out[i] - raw[i], i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw; exact for small means, normal-approximated for the large ones of scale 100."""
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


# Random draws for the hot paths. ``Random.randint``/``choice`` go through
# ``_randbelow`` and cost ~1 µs each; one ``random()`` costs a tenth of that,
# which matters at a few million records. Still fully determined by the seed.

def pick(rng: random.Random, seq: Sequence):
    return seq[int(rng.random() * len(seq))]


def between(rng: random.Random, lo: int, hi: int) -> int:
    """A whole number in lo..hi inclusive."""
    return lo + int(rng.random() * (hi - lo + 1))


def below(rng: random.Random, n: int) -> int:
    return int(rng.random() * n)

"""Confidence intervals for the headline figures, from per-conversation aggregates.

Turns of one conversation share images, history and the instructions in force, so they are not independent: the
unit of resampling is the conversation. Each headline figure is a ratio of sums over conversations (PIF: sum of
response PIFs / responses; PIF-N-K: turns with at least K perfect samples / complete turns; answer accuracy:
correct / checked), so a conversation is summarised by a few numbers and the bootstrap never needs a response.

- :func:`bootstrap_intervals`: percentile bootstrap over conversations, seeded (``derive_rng``), so the same
  inputs give the same interval, in ``mmmtif score`` and in the released ``scoring.py`` alike.
- :func:`ClusterMean`: a normal-approximation interval of a ratio with conversations as clusters, kept in O(1)
  memory per point, for the per-turn and per-instruction-count points of the plots.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from operator import itemgetter

from generator.common.rng import derive_rng

LEVEL = 0.95
RESAMPLES = 1000
SEED = 0
_Z = 1.959963984540054  # two-sided 95% normal quantile


def _quantile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between the order statistics (``values`` sorted)."""
    position = q * (len(values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def bootstrap_intervals(ratios: Mapping[str, tuple[Sequence[float], Sequence[float]]], *,
                        resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL
                        ) -> dict[str, list[float] | None]:
    """Percentile intervals of ratio-of-sums statistics under resampling of conversations with replacement.

    ``ratios`` maps a name to (numerators, denominators), one entry per conversation, all of equal length. Every
    statistic is computed on the same resampled conversations. A statistic with no denominator in the data, or
    with fewer than two conversations, has no interval (None); a resample whose denominator is 0 is skipped.
    """
    names = list(ratios)
    sizes = {len(num) for num, _ in ratios.values()} | {len(den) for _, den in ratios.values()}
    if len(sizes) > 1:
        raise ValueError("every statistic needs one numerator and one denominator per conversation")
    count = sizes.pop() if sizes else 0
    result: dict[str, list[float] | None] = {name: None for name in names}
    if count < 2 or resamples < 1:
        return result
    rng = derive_rng(seed, "scoring", "bootstrap", count)
    draws: dict[str, list[float]] = {name: [] for name in names}
    population = range(count)
    counted = {name: pair for name, pair in ratios.items() if any(pair[1])}
    for _ in range(resamples):
        # One C-level gather per list (count >= 2, so the getter returns a tuple); the sums run in the order of
        # the picks, as a loop over them would.
        pick = itemgetter(*rng.choices(population, k=count))
        for name, (num, den) in counted.items():
            denominator = sum(pick(den))
            if denominator:
                draws[name].append(sum(pick(num)) / denominator)
    tail = (1 - level) / 2
    for name, values in draws.items():
        if values:
            values.sort()
            result[name] = [_quantile(values, tail), _quantile(values, 1 - tail)]
    return result


class ClusterMean:
    """A ratio of sums over conversations with a cluster-robust normal interval (Huber-White, small-sample factor).

    Feed each conversation's (sum, count) with :meth:`add`; the interval is R +- z * se with
    se^2 = C / (C - 1) * sum_i (s_i - R n_i)^2 / (sum_i n_i)^2, clipped to [0, 1].
    """

    __slots__ = ("clusters", "n", "nn", "s", "sn", "ss")

    def __init__(self) -> None:
        self.clusters = 0
        self.s = self.n = self.ss = self.sn = self.nn = 0.0

    def add(self, total: float, count: int) -> None:
        if not count:
            return
        self.clusters += 1
        self.s += total
        self.n += count
        self.ss += total * total
        self.sn += total * count
        self.nn += count * count

    def interval(self) -> list[float] | None:
        if self.clusters < 2 or not self.n:
            return None
        ratio = self.s / self.n
        spread = max(self.ss - 2 * ratio * self.sn + ratio * ratio * self.nn, 0.0)
        se = math.sqrt(self.clusters / (self.clusters - 1) * spread) / self.n
        return [max(0.0, ratio - _Z * se), min(1.0, ratio + _Z * se)]

"""Small timing helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def median_of(fn: Callable[[], object], runs: int = 5) -> float:
    return statistics.median(timed(fn) for _ in range(runs))


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def report(name: str, ours: float, baseline: float, unit: str, baseline_name: str,
           higher_is_better: bool = False) -> str:
    ratio = (baseline / ours if higher_is_better else ours / baseline) if baseline and ours else float("nan")
    line = (f"{name:<46} ours {ours:>12,.1f} {unit:<8} baseline ({baseline_name}) "
            f"{baseline:>12,.1f} {unit:<8} ratio {ratio:5.2f}×")
    print(line, flush=True)
    return line

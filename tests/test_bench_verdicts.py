"""How `bench/bench_overhead.py` reads its pairs: the median ratio's 95% interval and the verdict.

On a VM whose run-to-run noise is larger than a 5% goal, a median alone says ok in one run and
MISS in the next. The interval is the order-statistic one (no assumption about the noise's
shape), and a row is ok only when all of it meets its goal.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from bench_overhead import median_interval, verdict  # noqa: E402


@pytest.mark.parametrize(("n", "ranks"), [(6, (1, 6)), (9, (2, 8)), (13, (3, 11)),
                                          (20, (6, 15)), (31, (10, 22)), (50, (18, 33))])
def test_the_interval_is_the_textbook_order_statistics(n: int, ranks: tuple[int, int]) -> None:
    """The ranks of the 95% confidence interval for a median, as tables of the sign test
    give them (1-based)."""
    values = [float(i) for i in range(1, n + 1)]
    random.Random(n).shuffle(values)
    median, low, high = median_interval(values)
    assert (low, high) == ranks
    assert median == (n + 1) / 2


def test_too_few_pairs_give_no_interval_and_decide_nothing() -> None:
    assert median_interval([1.0, 1.2, 0.9, 1.1, 1.0]) is None
    assert verdict(None, 1.05) == "open"


def test_the_interval_holds_the_true_median_at_least_95_percent_of_the_time() -> None:
    """Skewed noise, as a busy VM's (a run is slowed, never sped up): ratios of two
    log-normal times with a one-sided tail. The true median of the ratio is found by a
    large sample; 2,000 intervals of 13 and of 31 pairs must hold it >= 95% of the time."""
    rng = random.Random(7)

    def ratio() -> float:
        bare = rng.lognormvariate(0, 0.1) + rng.expovariate(8)
        claimcheck = 1.04 * (rng.lognormvariate(0, 0.1) + rng.expovariate(8))
        return claimcheck / bare

    truth = sorted(ratio() for _ in range(200_001))[100_000]
    for pairs in (13, 31):
        held = 0
        for _ in range(2_000):
            _, low, high = median_interval([ratio() for _ in range(pairs)])
            held += low <= truth <= high
        assert held / 2_000 >= 0.95, (pairs, held)


@pytest.mark.parametrize(("interval", "expected"), [
    ((1.02, 0.98, 1.05), "ok"),      # all of it within 1.05x
    ((1.04, 0.99, 1.08), "open"),    # straddles the goal: more pairs needed
    ((1.09, 1.06, 1.12), "MISS"),    # none of it within
])
def test_a_row_is_ok_only_when_its_whole_interval_meets_the_goal(
        interval: tuple[float, float, float], expected: str) -> None:
    assert verdict(interval, 1.05) == expected

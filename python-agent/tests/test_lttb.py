"""LTTB downsampling: at most max_points, the first, last, lowest and highest always kept."""

import math
import random

import pytest

from tunelab_agent.rundir import lttb


def test_a_small_case_worked_by_hand():
    # Buckets {1, 2} and {3, 4, 5}: point 2 makes the largest triangle with (0, 0) and the next bucket's
    # mean (4, 2); then the spike at 3 with point 2 and the last point.
    assert lttb.lttb(list(range(7)), [0, 1, 0, 5, 0, 1, 0], 4) == [0, 2, 3, 6]


def test_short_series_come_back_whole():
    assert lttb.downsample([1, 2, 3], [3.0, 1.0, 2.0], 4) == [0, 1, 2]
    assert lttb.downsample([], [], 10) == []


@pytest.mark.parametrize("seed", range(20))
def test_first_last_lowest_and_highest_are_kept_and_the_budget_is_never_exceeded(seed):
    rng = random.Random(seed)
    n = rng.randint(5, 3000)
    max_points = rng.randint(4, 300)
    xs = sorted(rng.sample(range(10 * n), n))
    ys = [math.sin(x / 50) + rng.gauss(0, 0.3) + (8 if rng.random() < 0.002 else 0) for x in xs]
    kept = lttb.downsample(xs, ys, max_points)
    assert len(kept) <= max_points
    assert kept == sorted(set(kept))
    assert {0, n - 1, ys.index(min(ys)), ys.index(max(ys))} <= set(kept)
    if n > max_points:
        assert len(kept) >= max_points - 2


def test_a_lone_spike_in_a_long_flat_series_survives():
    ys = [1.0] * 10000
    ys[7777] = 50.0
    ys[2222] = -3.0
    kept = lttb.downsample(list(range(10000)), ys, 20)
    assert 7777 in kept and 2222 in kept and len(kept) <= 20


def test_too_small_a_budget_is_refused():
    with pytest.raises(ValueError):
        lttb.downsample(list(range(10)), [0.0] * 10, 3)

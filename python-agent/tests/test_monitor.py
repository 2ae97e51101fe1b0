"""The run watchers on synthetic series: grad-norm band, early stopping, rising eval loss."""

import pytest

from tunelab_agent.training.monitor import EarlyStopping, EvalLossTrend, GradNormBand, is_finite


def test_band_warns_after_patience_consecutive_steps_and_only_once_per_excursion():
    band = GradNormBand(2, 5, patience=3)
    series = [3.0, 7.0, 8.0, 3.5, 9.0, 9.0, 9.0, 9.0, 9.0, 1.0, 1.0, 1.0]
    warnings = [(step, band.update(step, g)) for step, g in enumerate(series, start=1)]
    fired = [(step, w) for step, w in warnings if w]
    # 7, 8 then back inside: no warning. 9 x5: one warning at the third. 1.0 x3: a new excursion, warns again.
    assert [step for step, _ in fired] == [7, 12]
    assert "above" in fired[0][1] and "below" in fired[1][1]
    assert band.update(13, float("nan")) is None  # NaN is the non-finite watcher's job


def test_early_stopping_triggers_after_patience_evaluations_without_improvement():
    stopper = EarlyStopping(patience=3, metric="eval_loss", mode="min", min_delta=0.01)
    series = [2.0, 1.5, 1.2, 1.195, 1.3, 1.25]  # 1.195 improves by < min_delta, so it does not count
    results = [stopper.update(step * 10, {"eval_loss": v}) for step, v in enumerate(series, start=1)]
    assert [improved for improved, _ in results] == [True, True, True, False, False, False]
    assert [reason is not None for _, reason in results] == [False] * 5 + [True]
    assert stopper.best_value == 1.2 and stopper.best_step == 30
    assert "eval_loss" in results[-1][1] and "step 30" in results[-1][1]


def test_early_stopping_on_a_max_metric_given_without_prefix():
    stopper = EarlyStopping(patience=2, metric="accuracy", mode="max")
    assert stopper.update(1, {"eval_accuracy": 0.5}) == (True, None)
    assert stopper.update(2, {"eval_accuracy": 0.7}) == (True, None)
    assert stopper.update(3, {"eval_accuracy": 0.6})[1] is None
    improved, reason = stopper.update(4, {"eval_accuracy": 0.7})  # equal is not better
    assert not improved and reason
    assert stopper.update(5, {"eval_loss": 1.0}) == (False, None)  # metric absent: no judgement
    with pytest.raises(ValueError, match="early_stopping.mode"):
        EarlyStopping(mode="lowest")


def test_eval_loss_rising_warns_once_after_patience_rises_in_a_row():
    trend = EvalLossTrend(patience=3)
    series = [1.0, 1.1, 1.2, 1.15, 1.2, 1.3, 1.4, 1.5, 1.4]
    fired = [step for step, v in enumerate(series, start=1) if trend.update(step, v)]
    assert fired == [7]  # rises at 5, 6, 7; the rise at 8 is the same excursion; 1.15 broke the first run


def test_is_finite():
    assert is_finite(1.0) and is_finite(0) and is_finite("2.5")
    assert not any(is_finite(x) for x in (float("nan"), float("inf"), -float("inf"), None, "x"))

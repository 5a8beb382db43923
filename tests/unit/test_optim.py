"""Optimizers by name, the learning rate epoch by epoch, annealing on a plateau and the time budget."""

import keras
import numpy as np
import pytest

from tagger.optim import OPTIMIZERS, Schedule, decayed_rate, make_optimizer


@pytest.mark.parametrize("name, cls", [("adam", "Adam"), ("nadam", "Nadam"), ("adamw", "AdamW"), ("sgd", "SGD")])
def test_optimizers_by_name_carry_their_options(name, cls):
    optimizer = make_optimizer(name, 0.02, momentum=0.8, clipnorm=1.0, weight_decay=1e-4)
    assert type(optimizer).__name__ == cls and name in OPTIMIZERS
    assert float(optimizer.learning_rate) == pytest.approx(0.02)
    assert optimizer.clipnorm == 1.0 and optimizer.weight_decay == pytest.approx(1e-4)
    if name == "sgd":
        assert optimizer.momentum == 0.8


def test_unknown_optimizer_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="adam, nadam, adamw, sgd, got 'rmsprop'"):
        make_optimizer("rmsprop", 0.1)


def test_decayed_rate_is_ncrfpp_schedule():
    # NCRF++: lr / (1 + decay * epoch), lr 0.015, decay 0.05
    assert [round(decayed_rate(0.015, e, 0.05), 8) for e in (0, 1, 2, 20)] == [0.015, 0.01428571, 0.01363636, 0.0075]


class FakeCheckpoint:
    wait = 0


def run_epochs(schedule, waits, *, seconds_per_epoch=0.0, monkeypatch=None):
    """Drive `schedule` through epochs whose checkpoint `wait` counts are `waits`; return the rates used."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=make_optimizer("sgd", 1.0), loss="mse")
    schedule.set_model(model)
    rates = []
    clock = [0.0]
    if monkeypatch is not None:
        monkeypatch.setattr("tagger.optim.time.perf_counter", lambda: clock[0])
    for epoch, wait in enumerate(waits):
        schedule.on_epoch_begin(epoch)
        rates.append(round(float(model.optimizer.learning_rate), 6))
        clock[0] += seconds_per_epoch
        schedule.checkpoint.wait = wait
        logs = {}
        schedule.on_epoch_end(epoch, logs)
        assert round(logs["learning_rate"], 6) == rates[-1]
        if model.stop_training:
            break
    return rates, model.stop_training


def test_annealing_halves_the_rate_after_each_plateau_and_stops_at_the_floor():
    schedule = Schedule(FakeCheckpoint(), learning_rate=0.1, anneal_patience=2, min_learning_rate=0.02)
    # waits: improved, 1, 2 (anneal -> 0.05), 0 (improved), 1, 2 (anneal -> 0.025), 3, 4 (0.0125 < 0.02: stop)
    rates, stopped = run_epochs(schedule, [0, 1, 2, 0, 1, 2, 3, 4, 5])
    assert rates == [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025]
    assert stopped and "min_learning_rate=0.02" in schedule.stopped_for
    assert schedule.state()["scale"] == 0.25


def test_decay_and_annealing_multiply():
    schedule = Schedule(FakeCheckpoint(), learning_rate=0.1, decay=1.0, anneal_patience=1)
    rates, _ = run_epochs(schedule, [0, 1, 0])
    assert rates == [0.1, 0.05, round(0.1 * 0.5 / 3, 6)]


def test_time_budget_stops_after_the_epoch_that_crosses_it_and_counts_resumed_time(monkeypatch):
    schedule = Schedule(FakeCheckpoint(), learning_rate=0.1, max_time=25.0)
    rates, stopped = run_epochs(schedule, [0] * 10, seconds_per_epoch=10.0, monkeypatch=monkeypatch)
    assert len(rates) == 3 and stopped and "max_time=25 s" in schedule.stopped_for
    resumed = Schedule(FakeCheckpoint(), learning_rate=0.1, max_time=25.0)
    resumed.restore({"scale": 1.0, "elapsed": 20.0})
    rates, stopped = run_epochs(resumed, [0] * 10, seconds_per_epoch=10.0, monkeypatch=monkeypatch)
    assert len(rates) == 1 and stopped


def test_schedule_state_round_trips():
    schedule = Schedule(FakeCheckpoint(), learning_rate=0.1, anneal_patience=1)
    run_epochs(schedule, [0, 1, 2])
    other = Schedule(FakeCheckpoint(), learning_rate=0.1, anneal_patience=1)
    other.restore(schedule.state())
    assert other.state() == schedule.state() and np.isclose(other.scale, 0.25)


def test_bad_anneal_factor_is_refused():
    with pytest.raises(ValueError, match="anneal_factor must be between 0 and 1, got 2"):
        Schedule(FakeCheckpoint(), learning_rate=0.1, anneal_factor=2)


def test_the_weights_average_is_swapped_in_and_out_exactly():
    from tagger.callbacks import SwapAverage

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=make_optimizer("sgd", 0.1, average=0.5), loss="mse")
    x, y = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]]), np.array([[1.0], [0.0], [2.0]])
    for step in range(3):  # (fit would end by putting the average in the model)
        model.train_on_batch(x[step:step + 1], y[step:step + 1])
    raw = [v.numpy() for v in model.trainable_variables]
    average = [v.numpy() for v in model.optimizer._model_variables_moving_average]
    assert not np.allclose(raw[0], average[0])
    swap = SwapAverage()
    swap.set_model(model)
    swap.on_epoch_end(0)
    for now, expected in zip(model.trainable_variables, average):
        np.testing.assert_array_equal(now.numpy(), expected)
    swap.on_epoch_end(0)
    for now, expected in zip([*model.trainable_variables, *model.optimizer._model_variables_moving_average],
                             raw + average):
        np.testing.assert_array_equal(now.numpy(), expected)  # bit for bit


def test_average_is_a_momentum():
    with pytest.raises(ValueError, match="average is a momentum between 0 and 1"):
        make_optimizer("sgd", 0.1, average=1.0)

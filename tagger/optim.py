"""How training moves: the optimizer, the learning rate epoch by epoch, and when to stop for time."""

from __future__ import annotations

import logging
import time

import keras

from tagger.options import OPTIMIZERS

log = logging.getLogger(__name__)


def make_optimizer(name: str = "adam", learning_rate: float = 1e-3, *, momentum: float = 0.9,
                   clipnorm: float | None = None, weight_decay: float | None = None,
                   average: float | None = None) -> keras.optimizers.Optimizer:
    """A Keras optimizer by name; `momentum` is SGD's, `clipnorm` rescales each gradient to at most that
    norm, `weight_decay` is decoupled weight decay (AdamW's, and Keras' for the others). `average`: the
    optimizer also keeps an exponential moving average of the weights, with this momentum per step
    (`callbacks.SwapAverage` puts it in the model for scoring and checkpoints).

    >>> type(make_optimizer("sgd", 0.015, momentum=0.9)).__name__
    'SGD'
    """
    if average is not None and not 0 < average < 1:
        raise ValueError(f"average is a momentum between 0 and 1 (e.g. 0.999), got {average}")
    options = dict(learning_rate=learning_rate, clipnorm=clipnorm, weight_decay=weight_decay,
                   use_ema=average is not None, ema_momentum=average or 0.99)
    classes = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam, "nadam": keras.optimizers.Nadam,
               "adamw": keras.optimizers.AdamW}
    if name not in classes:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")
    if name == "sgd":
        options["momentum"] = momentum
    if name == "adamw":
        options["weight_decay"] = weight_decay or 0.0
    return (_warmed_up_average(classes[name]) if average is not None else classes[name])(**options)


def average_momentum(step, momentum: float):
    """The momentum of the weights' moving average at (0-based) optimizer `step`: min(momentum, (1 + step) /
    (10 + step)), as TensorFlow's ExponentialMovingAverage with `num_updates`. Early on the average follows
    the weights closely (Keras' own starts at full momentum, so for thousands of steps it holds mostly the
    initial weights); later it spans about the last tenth of the steps, up to 1 / (1 - momentum) steps.

    >>> [round(float(average_momentum(step, 0.999)), 4) for step in (0, 90, 100_000)]
    [0.1, 0.91, 0.999]
    """
    step = keras.ops.cast(step, "float32")
    return keras.ops.minimum(momentum, (1.0 + step) / (10.0 + step))


def _warmed_up_average(optimizer_class: type) -> type:
    """`optimizer_class` whose moving average of the weights (use_ema) uses `average_momentum`."""

    class WarmedUpAverage(optimizer_class):
        def _update_model_variables_moving_average(self, trainable_variables):
            momentum = average_momentum(self.iterations, self.ema_momentum)
            for variable, average in zip(trainable_variables, self._model_variables_moving_average):
                if average is not None:
                    average.assign(momentum * average + (1.0 - momentum) * variable)

    WarmedUpAverage.__name__ = optimizer_class.__name__
    return WarmedUpAverage


def decayed_rate(base: float, epoch: int, decay: float, scale: float = 1.0) -> float:
    """The learning rate of 0-based `epoch`: base x scale / (1 + decay x epoch) (Ma and Hovy 2016).

    >>> decayed_rate(0.015, 0, 0.05), round(decayed_rate(0.015, 10, 0.05, scale=0.5), 6)
    (0.015, 0.005)
    """
    return base * scale / (1.0 + decay * epoch)


class Schedule(keras.callbacks.Callback):
    """Sets the learning rate before every epoch (`decayed_rate`), anneals it on a plateau and stops
    training for time.

    Annealing (flair's trainer): after every `anneal_patience` epochs without an improvement of the
    monitored dev figure (read from `checkpoint.wait`, so place this callback after it), the rate is
    multiplied by `anneal_factor`; training stops once it would fall below `min_learning_rate`.
    `max_time`: training stops after the epoch during which this many seconds of training (resumed
    runs included) have passed. `scale` and `elapsed` are its state: `Backup` saves them.
    """

    def __init__(self, checkpoint, *, learning_rate: float, decay: float = 0.0, anneal_factor: float = 0.5,
                 anneal_patience: int | None = None, min_learning_rate: float = 0.0, max_time: float | None = None):
        super().__init__()
        if not 0 < anneal_factor < 1:
            raise ValueError(f"anneal_factor must be between 0 and 1, got {anneal_factor}")
        self.checkpoint, self.learning_rate, self.decay = checkpoint, learning_rate, decay
        self.anneal_factor, self.anneal_patience, self.min_learning_rate = anneal_factor, anneal_patience, min_learning_rate
        self.max_time = max_time
        self.scale, self.elapsed, self.stopped_for = 1.0, 0.0, None

    def state(self) -> dict:
        return {"scale": self.scale, "elapsed": self.elapsed}

    def restore(self, state: dict) -> None:
        self.scale, self.elapsed = float(state["scale"]), float(state["elapsed"])

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()
        self.model.optimizer.learning_rate = decayed_rate(self.learning_rate, epoch, self.decay, self.scale)

    def on_epoch_end(self, epoch, logs=None):
        self.elapsed += time.perf_counter() - self._started
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        wait = self.checkpoint.wait
        if self.anneal_patience and wait and wait % self.anneal_patience == 0:
            if decayed_rate(self.learning_rate, epoch + 1, self.decay, self.scale * self.anneal_factor) \
                    < self.min_learning_rate:
                self._stop(epoch, f"the learning rate would fall below min_learning_rate={self.min_learning_rate:g}")
            else:
                self.scale *= self.anneal_factor
                log.info("epoch %d: no improvement for %d epochs, learning rate x %g", epoch + 1, wait,
                         self.anneal_factor)
        if self.max_time is not None and self.elapsed >= self.max_time:
            self._stop(epoch, f"{self.elapsed:.0f} s of training reached max_time={self.max_time:g} s")

    def _stop(self, epoch: int, reason: str) -> None:
        log.info("epoch %d: stopping: %s", epoch + 1, reason)
        self.stopped_for = reason
        self.model.stop_training = True

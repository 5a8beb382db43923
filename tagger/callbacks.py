"""Keras callbacks: dev scores every epoch, the best checkpoint with early stopping, per-epoch
randomness, a resumable backup, throughput, stopping together across workers, and TensorBoard logs
with each label's dev F1."""

from __future__ import annotations

import importlib.util
import json
import logging
import time
from pathlib import Path

import keras
import numpy as np

from tagger.checkpoint import save_model
from tagger.data.encode import BatchPlan, Encoded
from tagger.data.shards import ShardPlan
from tagger.distribute import gathered_over_replicas
from tagger.metrics import format_scores, headline
from tagger.options import PREDICT_BATCH_SIZE
from tagger.reports import write_atomically
from tagger.scoring import score_encoded

log = logging.getLogger(__name__)


class DevScores(keras.callbacks.Callback):
    """Tags the dev set after every epoch, logs a per-label table and adds the figures to the logs.

    Adds `val_macro_f1`, `val_micro_f1`, `val_weighted_f1`, `val_accuracy` and, for span labels,
    `val_entity_f1`, so that callbacks later in the list (EarlyStopping, the checkpoint,
    CSVLogger) can use them. `scores` holds the last epoch's full dev scores (per-label ones included).
    """

    def __init__(self, dev: Encoded, gold: list[list[str]], label_names: list[str], *, batch_size: int = PREDICT_BATCH_SIZE,
                 multi_label: bool = False, threshold: float = 0.5):
        super().__init__()
        self.dev, self.gold, self.label_names, self.batch_size = dev, gold, list(label_names), batch_size
        self.multi_label, self.threshold = multi_label, threshold
        self.scores: dict = {}

    def on_epoch_end(self, epoch, logs=None):
        scores = score_encoded(self.model, self.dev, self.gold, self.label_names, batch_size=self.batch_size,
                               multi_label=self.multi_label, threshold=self.threshold, name="dev")
        self.scores = scores
        if logs is not None:
            logs.update({f"val_{key}": value for key, value in headline(scores).items()})
        log.info("epoch %d dev scores:\n%s", epoch + 1, format_scores(scores))


class DevTensorBoard(keras.callbacks.TensorBoard):
    """Keras' TensorBoard logs in `log_dir` (train/ and validation/ runs: the losses, the learning rate
    and every dev figure of the logs, `epoch_macro_f1`, `epoch_entity_f1`, ...), with each label's dev F1
    from `dev_scores` as `epoch_f1/LABEL` in the validation run. Steps are epochs, from 0."""

    def __init__(self, log_dir: str | Path, dev_scores: DevScores):
        if importlib.util.find_spec("tensorboard") is None:
            raise ValueError("trainer.tensorboard=true needs the tensorboard package, which TensorFlow no longer "
                             "installs: pip install tensorboard (or, in a checkout, pip install -e '.[tensorboard]')")
        super().__init__(log_dir=str(log_dir), write_graph=False)
        self.dev_scores = dev_scores

    def on_epoch_end(self, epoch, logs=None):
        per_label = {f"val_f1/{label}": scores["f1"] for label, scores in self.dev_scores.scores["per_label"].items()}
        super().on_epoch_end(epoch, {**(logs or {}), **per_label})


class BestCheckpoint(keras.callbacks.Callback):
    """Saves the model whenever `monitor` improves, and stops training after `patience` epochs without.

    `best`, `best_epoch` (1-based) and `wait` are its whole state: `Backup` saves them and a
    resumed run restores them.
    """

    def __init__(self, path: str | Path, *, monitor: str = "val_macro_f1", mode: str = "max",
                 patience: int | None = None):
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        self.path, self.monitor, self.mode, self.patience = Path(path), monitor, mode, patience
        self.best = -np.inf if mode == "max" else np.inf
        self.best_epoch = self.wait = 0

    def state(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise KeyError(f"monitored figure {self.monitor!r} is not in the logs; available: {sorted(logs or {})}")
        if (value > self.best) if self.mode == "max" else (value < self.best):
            log.info("epoch %d: %s improved to %.4f, saving %s", epoch + 1, self.monitor, value, self.path)
            self.best, self.best_epoch, self.wait = float(value), epoch + 1, 0
            save_model(self.model, self.path)
        else:
            self.wait += 1
            if self.patience is not None and self.wait >= self.patience:
                log.info("epoch %d: no %s improvement for %d epochs, stopping", epoch + 1, self.monitor, self.wait)
                self.model.stop_training = True


class EpochRandomness(keras.callbacks.Callback):
    """Makes each epoch's randomness a function of (seed, epoch) alone: the batch plan's order and
    every dropout mask. Keras keeps dropout's random state outside the saved weights; resetting
    it at each epoch start lets a resumed run draw the masks an uninterrupted run would have."""

    def __init__(self, plan: BatchPlan | ShardPlan):
        super().__init__()
        self.plan = plan

    def on_epoch_begin(self, epoch, logs=None):
        self.plan.next_epoch = epoch
        for variable in self.model.non_trainable_variables:
            if variable.path.endswith("seed_generator_state"):
                variable.assign(np.array([int(variable.numpy()[0]), epoch << 32], dtype=variable.dtype))


class Backup(keras.callbacks.Callback):
    """Everything needed to resume training, written after every epoch into `directory`.

    The weights and optimizer variables go to files named by epoch; `state.json` (the next epoch,
    the checkpoint's state, the file names) is written last, atomically, and older files are then
    removed. A crash at any moment leaves a `state.json` that names complete files.
    """

    def __init__(self, directory: str | Path, checkpoint: BestCheckpoint, schedule=None):
        super().__init__()
        self.directory, self.checkpoint, self.schedule = Path(directory), checkpoint, schedule

    def on_epoch_end(self, epoch, logs=None):
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = f"epoch-{epoch + 1:04d}"
        self.model.save_weights(self.directory / f"{stem}.weights.h5")
        np.savez(self.directory / f"{stem}.optimizer.npz", *[v.numpy() for v in self.model.optimizer.variables])
        state = {"next_epoch": epoch + 1, "files": stem, "checkpoint": self.checkpoint.state(),
                 "schedule": self.schedule.state() if self.schedule else None}
        write_atomically(self.directory / "state.json", json.dumps(state))
        for path in self.directory.glob("epoch-*"):
            if not path.name.startswith(stem):
                path.unlink()

    @staticmethod
    def next_epoch(directory: str | Path) -> int:
        """The epoch that a fit restoring the backup in `directory` starts from (0 when there is none)."""
        state_path = Path(directory) / "state.json"
        return json.loads(state_path.read_text())["next_epoch"] if state_path.is_file() else 0

    @staticmethod
    def restore(directory: str | Path, model: keras.Model, checkpoint: BestCheckpoint, schedule=None) -> int:
        """Load the last backup in `directory` into `model` (made by `fitting.compile_model`, so its
        optimizer's state exists), `checkpoint` and `schedule`; return the epoch to start from (0 when
        there is none)."""
        state_path = Path(directory) / "state.json"
        if not state_path.is_file():
            return 0
        state = json.loads(state_path.read_text())
        model.load_weights(Path(directory) / f"{state['files']}.weights.h5")
        with np.load(Path(directory) / f"{state['files']}.optimizer.npz") as saved:
            values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        if len(values) != len(model.optimizer.variables):
            raise ValueError(f"{directory}: the backup's optimizer has {len(values)} variables, this model's "
                             f"{len(model.optimizer.variables)}: it belongs to another configuration")
        for variable, value in zip(model.optimizer.variables, values):
            variable.assign(value)
        checkpoint.best, checkpoint.best_epoch, checkpoint.wait = (state["checkpoint"][k] for k in ("best", "best_epoch", "wait"))
        if schedule is not None and state.get("schedule"):
            schedule.restore(state["schedule"])
        log.info("resuming from %s after epoch %d (best %s %.4f at epoch %d)", directory, state["next_epoch"],
                 checkpoint.monitor, checkpoint.best, checkpoint.best_epoch)
        return state["next_epoch"]


class SwapAverage(keras.callbacks.Callback):
    """Exchanges the model's weights with the optimizer's moving average of them (`optim.make_optimizer`'s
    `average`) at each epoch's end. Placed twice, around the callbacks that score and save, it makes them
    see the average, and leaves the raw weights in the model (and the average in the optimizer) for the
    backup and the next epoch. The exchange copies values, so it is exact: a resumed run is unchanged.
    (Keras' `SwapEMAWeights` exchanges by addition and subtraction, which rounds.)"""

    def on_epoch_end(self, epoch, logs=None):
        optimizer = self.model.optimizer
        for variable, average in zip(optimizer._trainable_variables, optimizer._model_variables_moving_average):
            value = variable.numpy()
            variable.assign(average.numpy())
            average.assign(value)


class Throughput(keras.callbacks.Callback):
    """Adds `train_tokens_per_s` to the logs: real tokens over the training phase of the epoch
    (validation and dev scoring excluded)."""

    def __init__(self, tokens_per_epoch: int):
        super().__init__()
        self.tokens_per_epoch = tokens_per_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._stop = time.perf_counter(), None

    def on_test_begin(self, logs=None):
        self._stop = self._stop or time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["train_tokens_per_s"] = self.tokens_per_epoch / ((self._stop or time.perf_counter()) - self._start)


class StopTogether(keras.callbacks.Callback):
    """The workers of a multi-worker run stop after the same epoch: when one of them stops (its time budget
    ran out first), all do. A worker that stopped alone would leave the others waiting for it. Place it
    after every callback that stops training."""

    def on_epoch_end(self, epoch, logs=None):
        stops = gathered_over_replicas(float(self.model.stop_training), self.model.distribute_strategy)
        if any(stops) and not self.model.stop_training:
            log.info("epoch %d: stopping with the other workers", epoch + 1)
        self.model.stop_training = any(stops)

"""Keras callbacks: dev scores every epoch, and a best-checkpoint writer that never leaves half a file."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import keras
import numpy as np

from tagger.data.encode import Encoded
from tagger.metrics import format_scores, labels_of, score_tags
from tagger.model import predict_probabilities

log = logging.getLogger(__name__)


class DevScores(keras.callbacks.Callback):
    """Tags the dev set after every epoch, logs a per-label table and adds the figures to the logs.

    Adds `val_macro_f1`, `val_micro_f1`, `val_weighted_f1`, `val_accuracy` and, for span labels,
    `val_entity_f1`, so that callbacks later in the list (EarlyStopping, the checkpoint,
    CSVLogger) can use them.
    """

    def __init__(self, dev: Encoded, gold: list[list[str]], label_names: list[str], *, batch_size: int = 64):
        super().__init__()
        self.dev, self.label_names, self.batch_size = dev, list(label_names), batch_size
        self.gold = [tags[:length] for tags, length in zip(gold, dev.lengths)]

    def on_epoch_end(self, epoch, logs=None):
        probabilities = predict_probabilities(self.model, self.dev, batch_size=self.batch_size)
        scores = score_tags(self.gold, labels_of(probabilities, self.label_names), self.label_names)
        for key in ("macro_f1", "micro_f1", "weighted_f1", "accuracy", "entity_f1"):
            if key in scores and logs is not None:
                logs[f"val_{key}"] = scores[key]
        log.info("epoch %d dev scores:\n%s", epoch + 1, format_scores(scores))


def save_atomically(model: keras.Model, path: Path) -> None:
    """Write `model` to a temporary file beside `path`, then rename it into place."""
    temporary = path.with_name(f".{path.stem}.partial.keras")
    model.save(temporary)
    os.replace(temporary, path)


class BestCheckpoint(keras.callbacks.Callback):
    """Saves the model whenever `monitor` improves; `best` and `best_epoch` (1-based) say when."""

    def __init__(self, path: str | Path, *, monitor: str = "val_macro_f1", mode: str = "max"):
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        self.path, self.monitor, self.mode = Path(path), monitor, mode
        self.best = -np.inf if mode == "max" else np.inf
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise KeyError(f"monitored figure {self.monitor!r} is not in the logs; available: {sorted(logs or {})}")
        if (value > self.best) if self.mode == "max" else (value < self.best):
            log.info("epoch %d: %s improved to %.4f, saving %s", epoch + 1, self.monitor, value, self.path)
            self.best, self.best_epoch = float(value), epoch + 1
            save_atomically(self.model, self.path)


class Throughput(keras.callbacks.Callback):
    """Adds `train_tokens_per_s` to the logs: real tokens over the training phase of the epoch
    (validation and dev scoring excluded)."""

    def __init__(self, tokens_per_epoch: int):
        super().__init__()
        self.tokens_per_epoch = tokens_per_epoch
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._stop = time.perf_counter(), None

    def on_test_begin(self, logs=None):
        self._stop = self._stop or time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append((self._stop or time.perf_counter()) - self._start)
        if logs is not None:
            logs["train_tokens_per_s"] = self.tokens_per_epoch / self.seconds[-1]

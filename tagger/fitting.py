"""The fit stage: a clean seeded start, the compiled model (network, loss, optimizer) under the
run's tf.distribute strategy, the callbacks, and a `model.fit` that resumes from a backup.

An optimizer is added in `optim.make_optimizer`, a callback in `callbacks_for`.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from tagger.callbacks import (Backup, BestCheckpoint, DevScores, DevTensorBoard, EpochRandomness, StopTogether,
                              SwapAverage, Throughput)
from tagger.crf import allowed_transitions
from tagger.data.encode import BatchPlan, Encoded, WordNoise, make_dataset
from tagger.data.shards import ShardPlan, Shards, shard_dataset
from tagger.data.vocab import Vocabularies
from tagger.distribute import (build_from_local_batches, gathered_over_replicas, is_multi_worker, split_by_batch,
                               strategy_for)
from tagger.embeddings import embedding_matrix
from tagger.losses import loss_for
from tagger.model import build_tagger, character_kinds
from tagger.optim import Schedule, make_optimizer
from tagger.options import MONITORS, OUTPUT_BIASES, PREDICT_BATCH_SIZE
from tagger.reports import write_atomically
from tagger.weighting import LabelWeights

log = logging.getLogger(__name__)

TENSORBOARD = "tensorboard"  # the run directory's TensorBoard logs, with trainer.tensorboard=true


def start_clean(seed: int, *, deterministic: bool, mixed_precision: bool = False, threads: int | None = None) -> None:
    """Fresh Keras state and seeded Python, numpy and TensorFlow, so job order never changes results."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy("mixed_float16" if mixed_precision else "float32")
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    if threads is not None:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # TensorFlow fixes them at its first operation in the process
            current = tf.config.threading.get_intra_op_parallelism_threads()
            if current != threads:
                log.warning("trainer.threads=%d ignored: TensorFlow already runs with %d threads in this process",
                            threads, current)


def compile_model(model: keras.Model, loss: keras.losses.Loss, optimizer: keras.optimizers.Optimizer, *,
                  jit_compile: bool = False) -> keras.Model:
    """`model` compiled, with its optimizer's state already made: Keras 3 otherwise makes it inside the first
    training step when no distribution strategy is set, and TensorFlow then traces that step twice (once to
    create the variables, once to use them), seconds of every run's first epoch."""
    model.compile(optimizer=optimizer, loss=loss, jit_compile=jit_compile)
    model.optimizer.build(model.trainable_variables)
    return model


def compiled_tagger(vocab: Vocabularies, weights: LabelWeights, *, head: str = "softmax", strategy: str = "default",
                    output_bias: str = "prior", vectors: dict[str, np.ndarray] | None = None, seed: int = 0,
                    crf_constraints: bool = False, train_tags=(), crf_weighting: str = "sentence",
                    loss: str = "crossentropy", gamma: float = 2.0, optimizer: dict | None = None,
                    jit_compile: bool = False, casing: bool = False, **layers) -> keras.Model:
    """`build_tagger` for `vocab` (`layers`: its size and dropout options), with its loss and optimizer
    (`optimizer`: keyword arguments of `make_optimizer`; default Adam), compiled under the tf.distribute
    `strategy`.

    With `output_bias="prior"` the output bias starts at the training label priors; pretrained
    `vectors` initialise the word embedding; `casing` adds each word's casing feature; `crf_constraints`
    forbid the CRF transitions that break IOB2/IOBES spans, except those that the training tag sequences
    `train_tags` contain.
    """
    if output_bias not in OUTPUT_BIASES:
        raise ValueError(f"output_bias must be one of {OUTPUT_BIASES}, got {output_bias!r}")
    with strategy_for(strategy).scope():
        model = build_tagger(
            len(vocab.words), len(vocab.chars), len(vocab.labels), head=head,
            output_bias=weights.prior_bias() if output_bias == "prior" else None,
            word_embeddings=None if vectors is None else embedding_matrix(vocab.words.items, vectors, seed=seed),
            crf_allowed=allowed_transitions(vocab.labels.items, train_tags) if crf_constraints else None,
            char_kinds=character_kinds(vocab.chars.items) if casing else None, **layers)
        model_loss = loss_for(head, model, loss=loss, gamma=gamma, crf_weighting=crf_weighting,
                              positive_weights=weights.class_weights, negative_weights=weights.negative_weights)
        model = compile_model(model, model_loss, make_optimizer(**(optimizer or {})), jit_compile=jit_compile)
    if strategy == "multi_worker":
        build_from_local_batches(model)
    return model


def callbacks_for(plan: BatchPlan | ShardPlan, checkpoint: BestCheckpoint, dev_scores: DevScores, schedule: Schedule, *,
                  tokens_per_epoch: int, history_path: Path, backup_dir: Path, resumed: bool,
                  multi_worker: bool = False, tensorboard_dir: Path | None = None,
                  averaged: bool = False) -> list[keras.callbacks.Callback]:
    """The callbacks of a fit, in the order they run at each epoch's end: dev scores first, so that the
    checkpoint, the schedule (which reads the checkpoint's wait), TensorBoard (given `tensorboard_dir`),
    the history and the backup see them; on a `multi_worker` run, last, the workers agree on whether to stop.
    With an `averaged` optimizer, the dev scores, the checkpoint and TensorBoard see the weights' average."""
    tensorboard = [] if tensorboard_dir is None else [DevTensorBoard(tensorboard_dir, dev_scores)]
    swap = [SwapAverage()] if averaged else []  # the average in the model while it is scored and saved
    return [EpochRandomness(plan), *swap, dev_scores, Throughput(tokens_per_epoch), checkpoint, schedule, *tensorboard,
            *swap, keras.callbacks.CSVLogger(str(history_path), append=resumed), Backup(backup_dir, checkpoint, schedule),
            *([StopTogether()] if multi_worker else [])]


def training_batches(train: Encoded | Shards, weights: LabelWeights, *, batch_size: int, seed: int = 0,
                     bucketing: bool = True, noise: WordNoise | None = None):
    """(plan, tf.data pipeline) of the training batches of `train`, in memory or in shards, each epoch's
    order and word noise drawn from (seed, epoch)."""
    if isinstance(train, Shards):
        plan = ShardPlan(train, batch_size, seed=seed, bucketing=bucketing)
        multi_label = weights.negative_weights is not None
        return plan, shard_dataset(plan, weights.per_token, noise=noise,
                                   multi_label_count=len(weights.labels) if multi_label else None)
    plan = BatchPlan(train.lengths, batch_size, seed=seed, bucketing=bucketing)
    return plan, make_dataset(train, weights.per_token(train), batch_size=batch_size, plan=plan, noise=noise)


def keep_history_rows(path: Path, epochs: int) -> None:
    """Cut history.csv back to its first `epochs` rows (a resumed run rewrites the later ones)."""
    if path.is_file():
        lines = path.read_text().splitlines(keepends=True)
        write_atomically(path, "".join(lines[: epochs + 1]))


def check_same_start(initial_epoch: int, initial_epochs: list[float], backup_dir: Path) -> None:
    """Refuse to train when the workers of a multi-worker run would start from different epochs (this one's
    `initial_epoch`, from its `backup_dir`; every replica's in `initial_epochs`): one found its backup and
    another did not, and their steps would pair up batches of different epochs.

    >>> check_same_start(3, [3.0, 3.0], Path("run/backup"))
    >>> check_same_start(0, [3.0, 0.0], Path("run/worker-1/backup"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the workers would start from different epochs ([3, 0] by replica): this one from 0, with no backup in run/worker-1/backup...
    """
    if len(set(initial_epochs)) > 1:
        raise ValueError(
            f"the workers would start from different epochs ({[int(e) for e in initial_epochs]} by replica): this "
            f"one from {initial_epoch}, with {'the' if initial_epoch else 'no'} backup in {backup_dir}. Restart every "
            "worker with the run directory it had (each keeps its backup there: the chief in backup/, the others "
            "in worker-N/backup/), or remove every backup to start over")


@dataclass
class Fitted:
    """What a fit did, as metrics.json's `run` section reports it."""

    best_value: float  # of the monitored figure, at the best epoch
    best_epoch: int  # 1-based
    epochs_run: int
    train_seconds: float
    train_tokens_per_s: float  # harmonic mean over the epochs
    max_time: float | None = None  # the training time budget, seconds
    stopped_for: str | None = None  # why the schedule stopped training (time budget, learning-rate floor)

    def to_dict(self) -> dict:
        return asdict(self)


def fit(model: keras.Model, train: Encoded | Shards, dev: Encoded, weights: LabelWeights, dev_gold: list[list[str]],
        labels: list[str], run_dir: Path, *, epochs: int, batch_size: int, eval_batch_size: int = PREDICT_BATCH_SIZE,
        monitor: str = "val_macro_f1", patience: int | None = None, bucketing: bool = True, seed: int = 0,
        verbose: int = 2, multi_label: bool = False, threshold: float = 0.5, schedule: dict | None = None,
        singleton_unk: float = 0.0, word_dropout: float = 0.0, tensorboard: bool = False) -> Fitted:
    """Train `model` on `train` (in memory, or in shards on disk) for up to `epochs`, scoring dev after each; keep the best epoch's model (by
    `monitor`) as run_dir/checkpoint/model.keras and stop after `patience` epochs without improvement.
    `schedule`: keyword arguments of `optim.Schedule` (learning rate by epoch, annealing, time budget);
    `singleton_unk`, `word_dropout`: unknown-word training (`encode.WordNoise`).

    Writes run_dir/history.csv (with `tensorboard`, TensorBoard logs in run_dir/tensorboard too), and after
    every epoch a backup in run_dir/backup: a fit that finds one resumes from it and ends as an
    uninterrupted fit would. The backup is removed at the end.
    """
    if monitor not in MONITORS:
        raise ValueError(f"monitor must be one of {MONITORS}, got {monitor!r}")
    checkpoint = BestCheckpoint(run_dir / "checkpoint" / "model.keras", monitor=monitor,
                                mode="min" if monitor == "val_loss" else "max", patience=patience)
    backup_dir, history_path = run_dir / "backup", run_dir / "history.csv"
    schedule = Schedule(checkpoint, **(schedule or {"learning_rate": float(model.optimizer.learning_rate)}))
    multi_worker = is_multi_worker(model.distribute_strategy)
    if multi_worker:  # before restoring, which makes the workers that have a backup communicate
        start = Backup.next_epoch(backup_dir)
        check_same_start(start, gathered_over_replicas(start, model.distribute_strategy), backup_dir)
    initial_epoch = Backup.restore(backup_dir, model, checkpoint, schedule)
    if initial_epoch:
        keep_history_rows(history_path, initial_epoch)
    noise = WordNoise.from_training(train.word_counts(model.get_layer("word_embedding").input_dim),
                                    singleton_unk=singleton_unk, word_dropout=word_dropout)
    plan, batches = training_batches(train, weights, batch_size=batch_size, seed=seed, bucketing=bucketing,
                                     noise=noise)
    dev_scores = DevScores(dev, dev_gold, labels, batch_size=eval_batch_size, multi_label=multi_label,
                           threshold=threshold)
    callbacks = callbacks_for(plan, checkpoint, dev_scores, schedule, tokens_per_epoch=train.num_tokens,
                              history_path=history_path, backup_dir=backup_dir, resumed=initial_epoch > 0,
                              multi_worker=multi_worker, tensorboard_dir=run_dir / TENSORBOARD if tensorboard else None,
                              averaged=model.optimizer.use_ema)
    stopped_early = checkpoint.patience is not None and checkpoint.wait >= checkpoint.patience
    started = time.perf_counter()
    if initial_epoch < epochs and not stopped_early:
        model.fit(
            split_by_batch(batches),
            validation_data=split_by_batch(make_dataset(dev, weights.per_token(dev), batch_size=eval_batch_size,
                                                        order=np.argsort(dev.lengths, kind="stable"))),
            epochs=epochs, initial_epoch=initial_epoch, callbacks=callbacks, verbose=verbose, shuffle=False,
        )
    train_seconds = time.perf_counter() - started
    shutil.rmtree(backup_dir, ignore_errors=True)
    history = pd.read_csv(history_path)
    return Fitted(checkpoint.best, checkpoint.best_epoch, len(history), round(train_seconds, 2),
                  round(len(history) / (1 / history["train_tokens_per_s"]).sum(), 1), schedule.max_time,
                  schedule.stopped_for)

"""Train a tagger: `python -m tagger.train [group=option ...] [key=value ...]` (Hydra).

The run directory receives checkpoint/ (model.keras, vocab.json, config.yaml), history.csv,
metrics.json and report.md. While training, backup/ holds the last epoch's state: the same
command with the same `hydra.run.dir` resumes an interrupted run from there.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
import time
from pathlib import Path

import hydra
import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from tagger import weighting
from tagger.callbacks import Backup, BestCheckpoint, DevScores, EpochRandomness, Throughput
from tagger.cli import run_or_explain
from tagger.crf import CRFLoss, allowed_transitions
from tagger.data.datasets import load_splits
from tagger.data.encode import BatchPlan, encode, make_dataset
from tagger.data.vocab import Vocabularies
from tagger.distribute import strategy_for
from tagger.embeddings import coverage, embedding_matrix, lookup, read_vectors
from tagger.checkpoint import ModelInfo, load_model, save_adjustment, save_record
from tagger.data.tags import span_scheme
from tagger.losses import TokenLoss, WeightedBinaryCrossentropy
from tagger.metrics import format_scores, headline
from tagger.model import build_tagger
from tagger.options import MULTI_LABEL_HEAD, check_options
from tagger.reports import label_table, write_atomically, write_confusion, write_metrics, write_report
from tagger.schema import loader_options, register_configs
from tagger.scoring import score_splits

log = logging.getLogger(__name__)
register_configs()


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


def keep_history_rows(path: Path, epochs: int) -> None:
    """Cut history.csv back to its first `epochs` rows (a resumed run rewrites the later ones)."""
    if path.is_file():
        lines = path.read_text().splitlines(keepends=True)
        write_atomically(path, "".join(lines[: epochs + 1]))


@dataclass
class LabelWeights:
    """What the weighting group makes of the training labels."""

    counts: np.ndarray  # training tokens per label (multi-label: tokens that carry the label)
    tokens: int  # real training tokens
    class_weights: np.ndarray  # per label (multi-label: weight of a positive)
    negative_weights: np.ndarray | None  # multi-label: weight of a negative, per label
    train: np.ndarray  # (samples, seq_len) sample weights of train and dev
    dev: np.ndarray

    def table(self, labels) -> pd.DataFrame:
        return label_table(labels, self.counts, self.class_weights, self.negative_weights)


def label_weights_for(w: DictConfig, labels: list[str], train_data, dev_data) -> LabelWeights:
    """Class weights as the weighting group asks (warning when they grow with frequency), and the
    sample weights of train and dev: for single labels the temporal weights (class weight x sentence
    weight, 0 on padding); for multi-label tags, where the per-label weights act inside the loss,
    the sentence weights on real tokens."""
    options = dict(beta=w.beta, mu=w.mu, normalize=w.normalize, max_weight=w.max_weight)
    if train_data.labels.ndim == 3:
        counts = train_data.labels[train_data.mask].sum(axis=0).astype(int)
        positive, negative = weighting.binary_class_weights(counts, int(train_data.mask.sum()), w.scheme.value,
                                                            custom=dict(w.custom), ignore=list(w.ignore), **options)
        weighting.warn_if_weights_grow_with_frequency(counts, positive, labels)
        sample = lambda data: (data.mask * data.sentence_weights[:, None]).astype(np.float32)  # noqa: E731
        return LabelWeights(counts, int(train_data.mask.sum()), positive, negative, sample(train_data), sample(dev_data))
    counts = weighting.label_counts(train_data.labels, train_data.mask, len(labels))
    class_weights = weighting.class_weights(counts, labels, w.scheme.value, custom=dict(w.custom),
                                            ignore=list(w.ignore), **options)
    weighting.warn_if_weights_grow_with_frequency(counts, class_weights, labels)
    temporal = lambda data: weighting.temporal_sample_weights(  # noqa: E731
        data.labels, data.mask, class_weights, data.sentence_weights)
    return LabelWeights(counts, int(train_data.mask.sum()), class_weights, None, temporal(train_data),
                        temporal(dev_data))


def pretrained_vectors(path: str | None, splits) -> dict[str, np.ndarray] | None:
    """The vectors of `path` for the words of every split (and their lowercase forms); logs coverage."""
    if not path:
        return None
    words = {w for corpus in (splits.train, splits.dev, splits.test) if corpus for s in corpus.tokens for w in s}
    vectors = read_vectors(path, words | {w.lower() for w in words})
    log.info("pretrained embeddings %s: %d vectors of dimension %d; %.1f %% of training tokens found, "
             "%.1f %% of dev tokens", path, len(vectors), len(next(iter(vectors.values()))),
             100 * coverage(splits.train.tokens, vectors), 100 * coverage(splits.dev.tokens, vectors))
    return vectors


def model_for(cfg: DictConfig, vocab: Vocabularies, weights: LabelWeights, vectors=None) -> keras.Model:
    """The compiled model the model, loss and trainer groups ask for, under the trainer's strategy.

    The output bias starts at the label priors: ln f for a softmax or CRF, ln(f / (1 - f)) for
    the independent sigmoids of multi-label tags.
    """
    m, t = cfg.model, cfg.trainer
    head = "sigmoid" if vocab.multi_label else m.head.value
    if vocab.multi_label:
        priors = weighting.prior_logits(weights.counts, weights.tokens)
    else:
        priors = weighting.prior_log_frequencies(weights.counts)
    with strategy_for(t.strategy.value).scope():
        model = build_tagger(
            len(vocab.words), len(vocab.chars), len(vocab.labels), word_embedding_dim=m.word_embedding_dim,
            char_encoder=m.char_encoder.value, char_embedding_dim=m.char_embedding_dim,
            char_hidden_dim=m.char_hidden_dim, char_filters=m.char_filters, char_kernel_size=m.char_kernel_size,
            hidden_dim=m.hidden_dim, num_layers=m.layers, dropout_rate=m.dropout_rate,
            output_bias=priors if m.output_bias.value == "prior" else None,
            word_embeddings=None if vectors is None else embedding_matrix(vocab.words.items, vectors, seed=cfg.seed),
            freeze_embeddings=m.freeze_embeddings, head=head,
            crf_allowed=allowed_transitions(vocab.labels.items) if m.crf_constraints else None,
        )
        if head == "crf":
            loss = CRFLoss(model.get_layer("crf"), m.crf_weighting.value)
        elif head == "sigmoid":
            loss = WeightedBinaryCrossentropy(weights.class_weights, weights.negative_weights)
        else:
            loss = TokenLoss(cfg.loss.gamma if cfg.loss.name.value == "focal" else 0.0)
        model.compile(optimizer=keras.optimizers.Adam(t.learning_rate, clipnorm=t.clipnorm), loss=loss,
                      jit_compile=t.jit_compile)
    return model


def train(cfg: DictConfig, output_dir: Path) -> dict:
    """Train with the composed config `cfg`, write the run's files into `output_dir`, return metrics."""
    output_dir = Path(output_dir)
    start_clean(cfg.seed, deterministic=cfg.trainer.deterministic, mixed_precision=cfg.trainer.mixed_precision,
                threads=cfg.trainer.threads)
    monitor = cfg.trainer.monitor.value

    data_options = loader_options(cfg.data)
    splits = load_splits(**data_options)
    vectors = pretrained_vectors(cfg.model.pretrained_embeddings, splits)
    held_out = [w for corpus in (splits.dev, splits.test) if corpus for s in corpus.tokens for w in s]
    vocab = Vocabularies.build(splits.train.tokens, splits.train.tags, min_freq=cfg.data.min_freq,
                               lowercase=cfg.data.lowercase, multi_label=cfg.data.multi_label,
                               extra_words=[w for w in held_out if lookup(vectors, w) is not None] if vectors else ())
    labels = list(vocab.labels.items)
    check_options(labels, multi_label=vocab.multi_label, head=cfg.model.head.value, loss=cfg.loss.name.value,
                  logit_adjustment=cfg.trainer.logit_adjustment, monitor=monitor,
                  crf_constraints=cfg.model.crf_constraints)
    train_data = encode(splits.train, vocab, max_len=cfg.data.max_len, max_chars=cfg.data.max_chars, name="train")
    dev_data = encode(splits.dev, vocab, max_chars=cfg.data.max_chars, name="dev")

    weights = label_weights_for(cfg.weighting, labels, train_data, dev_data)
    labels_and_weights = weights.table(labels)

    model = model_for(cfg, vocab, weights, vectors)
    real_tokens = int(train_data.mask.sum())
    log.info(
        "data %s: train %d sentences / %d tokens, dev %d / %d, test %s; vocabulary %d words, %d chars, "
        "%d labels; model %s parameters\nlabels and class weights (%s):\n%s",
        data_options["name"], len(splits.train), real_tokens, len(splits.dev), splits.dev.num_tokens,
        f"{len(splits.test)} / {splits.test.num_tokens}" if splits.test else "none",
        len(vocab.words), len(vocab.chars), len(labels), f"{model.count_params():,}", cfg.weighting.scheme.value,
        labels_and_weights.to_string(float_format=lambda x: f"{x:.4g}"),
    )

    checkpoint_dir = output_dir / "checkpoint"
    info = ModelInfo(MULTI_LABEL_HEAD if vocab.multi_label else cfg.model.head.value, cfg.model.threshold,
                     cfg.data.max_chars, span_scheme(labels))
    save_record(checkpoint_dir, vocab, info, OmegaConf.to_yaml(cfg, resolve=True))
    mode = "min" if monitor == "val_loss" else "max"
    checkpoint = BestCheckpoint(checkpoint_dir / "model.keras", monitor=monitor, mode=mode,
                                patience=cfg.trainer.patience)
    backup_dir, history_path = output_dir / "backup", output_dir / "history.csv"
    initial_epoch = Backup.restore(backup_dir, model, checkpoint)
    if initial_epoch:
        keep_history_rows(history_path, initial_epoch)
    plan = BatchPlan(train_data.lengths, cfg.trainer.batch_size, seed=cfg.seed, bucketing=cfg.trainer.bucketing)
    callbacks = [
        EpochRandomness(plan),
        DevScores(dev_data, splits.dev.tags, labels, batch_size=cfg.trainer.eval_batch_size,
                  multi_label=vocab.multi_label, threshold=cfg.model.threshold),
        Throughput(real_tokens),
        checkpoint,
        keras.callbacks.CSVLogger(str(history_path), append=initial_epoch > 0),
        Backup(backup_dir, checkpoint),
    ]
    stopped_early = checkpoint.patience is not None and checkpoint.wait >= checkpoint.patience
    started = time.perf_counter()
    if initial_epoch < cfg.trainer.epochs and not stopped_early:
        model.fit(
            make_dataset(train_data, weights.train, batch_size=cfg.trainer.batch_size, plan=plan),
            validation_data=make_dataset(dev_data, weights.dev, batch_size=cfg.trainer.eval_batch_size,
                                         order=np.argsort(dev_data.lengths, kind="stable")),
            epochs=cfg.trainer.epochs, initial_epoch=initial_epoch, callbacks=callbacks,
            verbose=cfg.trainer.verbose, shuffle=False,
        )
    train_seconds = time.perf_counter() - started
    shutil.rmtree(backup_dir, ignore_errors=True)
    history = pd.read_csv(history_path)

    best_model = load_model(checkpoint_dir / "model.keras")
    scoring = {"dev": (dev_data, splits.dev.tags)}
    if splits.test is not None:
        scoring["test"] = (encode(splits.test, vocab, max_chars=cfg.data.max_chars, name="test"), splits.test.tags)
    log_priors = weighting.prior_log_frequencies(weights.counts) if cfg.trainer.logit_adjustment else None
    scored, tau = score_splits(best_model, scoring, labels, log_priors=log_priors, batch_size=cfg.trainer.eval_batch_size,
                               multi_label=vocab.multi_label, threshold=cfg.model.threshold)
    if tau is not None:
        save_adjustment(checkpoint_dir, tau, log_priors)
    metrics = {
        "run": {
            "data": data_options["name"], "weighting": cfg.weighting.scheme.value, "seed": cfg.seed, "monitor": monitor,
            "best_value": checkpoint.best, "best_epoch": checkpoint.best_epoch,
            "epochs_run": len(history), "train_seconds": round(train_seconds, 2),
            "train_tokens_per_s": round(len(history) / (1 / history["train_tokens_per_s"]).sum(), 1),
        },
        "train_labels": labels_and_weights.to_dict(orient="index"),
        **scored,
    }
    write_metrics(output_dir / "metrics.json", metrics)
    write_report(output_dir / "report.md", metrics, labels_and_weights)
    final_split = "test" if "test" in scored else "dev"
    if "confusion" in scored[final_split]:  # single-label tags
        write_confusion(output_dir, scored[final_split], final_split)
    log.info("best epoch %d (%s=%.4f); %s scores of the best checkpoint:\n%s", checkpoint.best_epoch, monitor,
             checkpoint.best, final_split, format_scores(scored[final_split]))
    log.info("run files in %s; %s", output_dir, headline(scored[final_split]))
    return metrics


@hydra.main(config_path="../configs", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float:
    """Train, and return the monitored dev figure of the best epoch (for Hydra sweepers)."""
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    return run_or_explain(lambda c: train(c, output_dir)["run"]["best_value"], cfg)


if __name__ == "__main__":
    main()

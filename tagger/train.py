"""Train a tagger: `python -m tagger.train [group=option ...] [key=value ...]` (Hydra).

The run directory receives checkpoint/ (model.keras, vocab.json, config.yaml), history.csv,
metrics.json and report.md. While training, backup/ holds the last epoch's state: the same
command with the same `hydra.run.dir` resumes an interrupted run from there; with
`data.streaming=true`, shards/ holds the encoded training data.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from tagger.checkpoint import ModelInfo, save_adjustment, save_record
from tagger.cli import CONFIG_DIR, run_or_explain
from tagger.data.datasets import Splits
from tagger.data.encode import encode
from tagger.data.prepare import read_training_data
from tagger.data.shards import SHARDS
from tagger.data.tags import span_scheme
from tagger.data.vocab import TrainingCounts, Vocabularies
from tagger.embeddings import coverage
from tagger.metrics import format_scores, headline
from tagger.options import MULTI_LABEL_HEAD, choose_recipe
from tagger.reports import write_scores
from tagger.schema import (layer_options, loader_options, optimizer_options, plain, register_configs,
                           schedule_options)
from tagger.scoring import score_splits
from tagger.weighting import label_weights_for, prior_log_frequencies

if TYPE_CHECKING:
    from tagger.fitting import Fitted

log = logging.getLogger(__name__)
register_configs()


def train(cfg: DictConfig, output_dir: Path) -> dict:
    """Train with the composed config `cfg`, write the run's files into `output_dir`, return metrics."""
    # TensorFlow is imported here, not with the module: a config mistake gets Hydra's error without waiting for it
    from tagger.distribute import files_dir
    from tagger.fitting import compiled_tagger, fit, start_clean

    output_dir, data, m, t = Path(output_dir), cfg.data, cfg.model, cfg.trainer
    start_clean(cfg.seed, deterministic=t.deterministic, mixed_precision=t.mixed_precision, threads=t.threads)

    # Data, and the options checked against its labels; a streamed training file is read in passes, never held
    data_options = loader_options(data)
    prepared = read_training_data(data_options, streaming=data.streaming, max_len=data.max_len, min_freq=data.min_freq,
                                  lowercase=data.lowercase, digits_to_zero=data.digits_to_zero,
                                  multi_label=data.multi_label, tag_scheme=data.tag_scheme.value,
                                  pretrained_embeddings=m.pretrained_embeddings)
    splits, counts, vocab, vectors = prepared.splits, prepared.counts, prepared.vocab, prepared.vectors
    labels = list(vocab.labels.items)
    recipe = choose_recipe(labels, multi_label=vocab.multi_label, head=m.head.value, monitor=t.monitor.value,
                           crf_constraints=m.crf_constraints, loss=cfg.loss.name.value, logit_adjustment=t.logit_adjustment)
    info = ModelInfo(MULTI_LABEL_HEAD if vocab.multi_label else recipe.head, m.threshold, data.max_chars,
                     span_scheme(labels))
    dev_data = encode(splits.dev, vocab, max_chars=info.max_chars, name="dev")

    # Weights and model
    weights = label_weights_for(labels, counts.label_counts(labels), counts.tokens, multi_label=vocab.multi_label,
                                **plain(cfg.weighting))
    model = compiled_tagger(vocab, weights, head=info.head, strategy=t.strategy.value, output_bias=m.output_bias.value,
                            vectors=vectors, seed=cfg.seed, crf_constraints=recipe.crf_constraints,
                            train_tags=prepared.train_tags(), crf_weighting=m.crf_weighting.value,
                            loss=cfg.loss.name.value, gamma=cfg.loss.gamma,
                            optimizer=optimizer_options(t), jit_compile=t.jit_compile, **layer_options(m))
    # The run's files: on a multi-worker run's other workers, a scratch directory removed at the end
    run_dir = files_dir(output_dir, model.distribute_strategy)
    train_data = prepared.encoded_train(max_chars=info.max_chars, shards_dir=run_dir / SHARDS,
                                        shard_sentences=data.shard_sentences)
    log_summary(data_options["name"], counts, splits, vocab, model.count_params(), cfg.weighting.scheme.value,
                weights.table(), m.pretrained_embeddings, vectors, recipe.why)

    # Fit: the best epoch's model lands in checkpoint/, beside the vocabulary and the model's record
    checkpoint_dir = run_dir / "checkpoint"
    save_record(checkpoint_dir, vocab, info, OmegaConf.to_yaml(cfg, resolve=True))
    fitted = fit(model, train_data, dev_data, weights, splits.dev.tags, vocab.tag_names, run_dir, epochs=t.epochs,
                 batch_size=t.batch_size, eval_batch_size=t.eval_batch_size, monitor=recipe.monitor,
                 patience=t.patience, bucketing=t.bucketing, seed=cfg.seed, verbose=t.verbose,
                 multi_label=info.multi_label, threshold=info.threshold, schedule=schedule_options(t),
                 singleton_unk=t.singleton_unk, word_dropout=t.word_dropout, tensorboard=t.tensorboard)

    # Score the best checkpoint on dev and test, each predicted once (tau of a logit adjustment tuned on dev)
    to_score = {"dev": (dev_data, splits.dev.tags)}
    if splits.test is not None:
        to_score["test"] = (encode(splits.test, vocab, max_chars=info.max_chars, name="test"), splits.test.tags)
    log_priors = prior_log_frequencies(weights.counts) if t.logit_adjustment else None
    model.load_weights(checkpoint_dir / "model.keras")  # the best epoch's weights, into the network in memory
    scored, tau = score_splits(model, to_score, vocab.tag_names, log_priors=log_priors,
                               batch_size=t.eval_batch_size, multi_label=info.multi_label, threshold=info.threshold)
    if tau is not None:
        save_adjustment(checkpoint_dir, tau, log_priors)

    # Write the run's files
    metrics = {"run": {"data": data_options["name"], "weighting": cfg.weighting.scheme.value, "seed": cfg.seed,
                       "head": info.head, "monitor": recipe.monitor, **fitted.to_dict()},
               "train_labels": weights.table().to_dict(orient="index"), **scored}
    final_split = "test" if "test" in scored else "dev"
    write_scores(run_dir, metrics, final_split, labels=weights.table())
    shutil.rmtree(run_dir / SHARDS, ignore_errors=True)
    if run_dir != output_dir:
        shutil.rmtree(run_dir)
    log_result(output_dir, fitted, recipe.monitor, final_split, scored[final_split])
    return metrics


def log_summary(data_name: str, counts: TrainingCounts, splits: Splits, vocab: Vocabularies, parameters: int,
                scheme: str, label_table, vectors_path: str | None = None, vectors: dict | None = None,
                recipe: str = "") -> None:
    """One banner before training: the recipe chosen and why, corpus sizes (the training split's from its
    `counts`), vocabulary, model size, pretrained vectors' coverage, and the training labels with their
    class weights."""
    if recipe:
        log.info("recipe for %s", recipe)
    if vectors:
        log.info("pretrained embeddings %s: %d vectors of dimension %d; %.1f %% of training tokens found, "
                 "%.1f %% of dev tokens", vectors_path, len(vectors), len(next(iter(vectors.values()))),
                 100 * coverage(splits.train.tokens, vectors), 100 * coverage(splits.dev.tokens, vectors))
    log.info(
        "data %s: train %d sentences / %d tokens, dev %d / %d, test %s; vocabulary %d words, %d chars, "
        "%d labels; model %s parameters\nlabels and class weights (%s):\n%s",
        data_name, counts.sentences, counts.tokens, len(splits.dev), splits.dev.num_tokens,
        f"{len(splits.test)} / {splits.test.num_tokens}" if splits.test else "none",
        len(vocab.words), len(vocab.chars), len(vocab.labels), f"{parameters:,}", scheme,
        label_table.to_string(float_format=lambda x: f"{x:.4g}"),
    )


def log_result(output_dir: Path, fitted: Fitted, monitor: str, split: str, scores: dict) -> None:
    log.info("best epoch %d (%s=%.4f); %s scores of the best checkpoint:\n%s", fitted.best_epoch, monitor,
             fitted.best_value, split, format_scores(scores))
    log.info("run files in %s; %s", output_dir, headline(scores))


@hydra.main(config_path=CONFIG_DIR, config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float:
    """Train, and return the monitored dev figure of the best epoch (for Hydra sweepers)."""
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    return run_or_explain(lambda c: train(c, output_dir)["run"]["best_value"], cfg)


if __name__ == "__main__":
    main()

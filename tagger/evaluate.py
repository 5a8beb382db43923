"""Score saved checkpoints on any data: `python -m tagger.evaluate checkpoint=PATH [data=...] [split=test]`.

PATH is a checkpoint directory, a training run directory, or a multirun directory (every run
inside is scored and one table written). Writes metrics.json, report.md and the confusion matrix
(CSV and PNG) into its own Hydra run directory.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import hydra
import keras
import numpy as np
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from tagger.checkpoint import find_checkpoint_dir, load_checkpoint
from tagger.cli import in_job_order, job_overrides, run_or_explain
from tagger.data.datasets import load_split
from tagger.data.encode import Encoded, encode
from tagger.data.readers import Corpus
from tagger.data.vocab import UNK, Vocabularies
from tagger.data.tags import MULTI_LABEL_SEPARATOR, OUTSIDE, label_set
from tagger.metrics import format_scores, headline, labels_of, score_tags
from tagger.model import best_paths, is_multi_label, predict_probabilities
from tagger.reports import write_atomically, write_confusion, write_metrics, write_report
from tagger.options import PREDICT_BATCH_SIZE
from tagger.schema import loader_options, register_configs

log = logging.getLogger(__name__)
register_configs()


def score_corpus(model: keras.Model, corpus: Corpus, vocab: Vocabularies, *, max_chars: int | None = None,
                 name: str = "corpus", **options) -> dict:
    """Scores of `model` on every token of `corpus` (sentences are never cut for scoring);
    `options` as for `score_encoded`."""
    data = encode(corpus, vocab, max_chars=max_chars, name=name)
    return score_encoded(model, data, corpus.tags, vocab.labels.items, name=name, **options)


def score_encoded(model: keras.Model, data: Encoded, gold: list[list[str]], label_names, *, batch_size: int = PREDICT_BATCH_SIZE,
                  strict: bool = False, unknown_labels: str | None = None, logit_shift=None,
                  threshold: float = 0.5, name: str = "corpus") -> dict:
    """Scores of `model` on encoded sentences against their `gold` tags, with the share of tokens
    outside the word vocabulary (`oov_rate`).

    Gold labels the model does not know are scored as given (they count as misses) unless
    `unknown_labels` says otherwise: `error` refuses them, `as_o` scores them as `O`, `ignore`
    leaves their tokens out of the scores. `logit_shift` applies a logit adjustment; `threshold`
    decides multi-label tags.
    """
    outputs = predict_probabilities(model, data, batch_size=batch_size)
    predicted = labels_of(best_paths(model, outputs, logit_shift, threshold=threshold), label_names)
    multi_label = is_multi_label(model)
    gold, predicted = resolve_unknown_labels(gold, predicted, label_names, unknown_labels, name=name,
                                             multi_label=multi_label)
    scores = score_tags(gold, predicted, label_names, strict=strict, multi_label=multi_label)
    scores["oov_rate"] = float((data.words[data.mask] == UNK).mean()) if data.mask.any() else 0.0
    return scores


TAU_GRID = tuple(np.round(np.arange(0.0, 2.01, 0.25), 2))


def tune_logit_adjustment(model: keras.Model, data: Encoded, gold, label_names, log_priors: np.ndarray, *,
                          taus=TAU_GRID, batch_size: int = PREDICT_BATCH_SIZE) -> tuple[float, dict[float, float]]:
    """The tau of `taus` whose adjustment ln p - tau ln prior (Menon et al. 2021) gives the best
    macro-F1 on (`data`, `gold`), and the macro-F1 of every tau. Ties go to the smaller tau."""
    probabilities = predict_probabilities(model, data, batch_size=batch_size)
    macro = {float(tau): score_tags(gold, labels_of(best_paths(model, probabilities, tau * log_priors), label_names),
                                    label_names)["macro_f1"] for tau in taus}
    return max(macro, key=lambda tau: (macro[tau], -tau)), macro


def resolve_unknown_labels(gold, predicted, known, policy: str | None, *, name: str = "corpus",
                           multi_label: bool = False):
    """Apply the `unknown_labels` policy (None, error, as_o, ignore) to gold tags the model does not know.

    For multi-label tags the policy applies to their single labels: `as_o` drops unknown labels
    from a token's set, `ignore` leaves out the tokens that have one.

    >>> resolve_unknown_labels([["O", "B-NEW"]], [["O", "O"]], ["O"], "ignore")
    ([['O']], [['O']])
    >>> resolve_unknown_labels([["A|NEW"]], [["A"]], ["A"], "as_o", multi_label=True)
    ([['A']], [['A']])
    """
    known = set(known)
    labels_in = label_set if multi_label else (lambda tag: {tag})
    unknown = Counter(label for sentence in gold for tag in sentence for label in labels_in(tag) if label not in known)
    if not unknown or policy is None:
        return gold, predicted
    if policy == "error":
        raise ValueError(f"{name}: labels the checkpoint was not trained on (tokens: {dict(unknown)}); "
                         "score them as O with unknown_labels=as_o, or leave them out with unknown_labels=ignore")
    if policy == "as_o":
        if not multi_label and OUTSIDE not in known:
            raise ValueError(f"unknown_labels=as_o needs an {OUTSIDE!r} label, and the checkpoint has none")
        log.warning("%s: scoring labels the checkpoint does not know as O (tokens: %s)", name, dict(unknown))
        if multi_label:
            fix = lambda tag: MULTI_LABEL_SEPARATOR.join(sorted(label_set(tag) & known)) or OUTSIDE  # noqa: E731
        else:
            fix = lambda tag: tag if tag in known else OUTSIDE  # noqa: E731
        return [[fix(t) for t in s] for s in gold], predicted
    if policy == "ignore":
        log.warning("%s: leaving out tokens with labels the checkpoint does not know (tokens: %s)", name, dict(unknown))
        kept = [[(g, p) for g, p in zip(gs, ps) if labels_in(g) <= known] for gs, ps in zip(gold, predicted)]
        return [[g for g, _ in s] for s in kept], [[p for _, p in s] for s in kept]
    raise ValueError(f"unknown_labels must be error, as_o or ignore, got {policy!r}")


def find_runs(path: str | Path) -> list[Path]:
    """The checkpoint directories under `path`: itself, its checkpoint/, or those of a multirun's jobs."""
    path = Path(path)
    try:
        return [find_checkpoint_dir(path)]
    except FileNotFoundError:
        runs = in_job_order(p.parent for p in path.glob("*/checkpoint"))
        if not runs:
            raise
        return [run / "checkpoint" for run in runs]


def evaluate_checkpoint(path: Path, corpus: Corpus, cfg: DictConfig, output_dir: Path) -> dict:
    """Score one checkpoint and write its files into `output_dir`."""
    checkpoint = load_checkpoint(path)
    logit_shift = checkpoint.logit_shift if cfg.logit_adjustment else None
    threshold = checkpoint.config.model.threshold if cfg.threshold is None else cfg.threshold
    scores = score_corpus(checkpoint.model, corpus, checkpoint.vocab, max_chars=checkpoint.max_chars,
                          batch_size=cfg.batch_size, name=cfg.split, strict=cfg.entity_strict,
                          unknown_labels=cfg.unknown_labels.value, logit_shift=logit_shift, threshold=threshold)
    metrics = {
        "run": {"checkpoint": str(checkpoint.path), "data": cfg.data.name, "split": cfg.split,
                "sentences": len(corpus), "tokens": corpus.num_tokens, "oov_rate": round(scores["oov_rate"], 4),
                "entity_mode": "strict" if cfg.entity_strict else "conlleval",
                "logit_adjustment_tau": checkpoint.tau if logit_shift is not None else None},
        cfg.split: scores,
    }
    output_dir.mkdir(parents=True, exist_ok=True)
    write_metrics(output_dir / "metrics.json", metrics)
    write_report(output_dir / "report.md", metrics, title="Evaluation report")
    if "confusion" in scores:  # single-label tags
        write_confusion(output_dir, scores, cfg.split)
    log.info("%s scores of %s (%d sentences, %d tokens, OOV rate %.2f %%):\n%s", cfg.split, checkpoint.path,
             len(corpus), corpus.num_tokens, 100 * scores["oov_rate"], format_scores(scores))
    return metrics


def evaluate(cfg: DictConfig, output_dir: Path) -> dict:
    """Score every checkpoint found at `cfg.checkpoint` on split `cfg.split` of `cfg.data`.

    One checkpoint: its files go into `output_dir`. Several (a multirun): each run's files go into
    `output_dir/NAME/`, and `runs.csv` has one row per run. Returns the metrics of the first run,
    with `runs` (the table's rows) for several.
    """
    runs = find_runs(cfg.checkpoint)
    options = loader_options(cfg.data)
    corpus = load_split(options.pop("name"), cfg.split, **options)
    if len(runs) == 1:
        return evaluate_checkpoint(runs[0], corpus, cfg, output_dir)
    rows, first = [], None
    for path in runs:
        metrics = evaluate_checkpoint(path, corpus, cfg, output_dir / path.parent.name)
        first = first or metrics
        rows.append({"run": path.parent.name, "overrides": " ".join(job_overrides(path.parent)),
                     **headline(metrics[cfg.split]), "oov_rate": metrics[cfg.split]["oov_rate"]})
    table = pd.DataFrame(rows)
    write_atomically(output_dir / "runs.csv", table.to_csv(index=False))
    log.info("%s scores of %d runs:\n%s", cfg.split, len(rows), table.to_string(index=False, float_format="%.4f"))
    return {**first, "runs": rows}


@hydra.main(config_path="../configs", config_name="evaluate", version_base="1.3")
def main(cfg: DictConfig) -> float:
    """Evaluate, and return the macro-F1 of the scored split (of the first run)."""
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    return run_or_explain(lambda c: evaluate(c, output_dir)[c.split]["macro_f1"], cfg)


if __name__ == "__main__":
    main()

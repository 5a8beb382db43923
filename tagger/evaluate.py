"""Score saved checkpoints on any data: `python -m tagger.evaluate checkpoint=PATH [data=...] [split=test]`.

PATH is a checkpoint directory, a training run directory, or a multirun directory (every run
inside is scored and one table written). Writes metrics.json, report.md and the confusion matrix
(CSV and PNG) into its own Hydra run directory.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from tagger.api import Tagger
from tagger.checkpoint import find_checkpoint_dir, training_config
from tagger.cli import CONFIG_DIR, in_job_order, job_overrides, run_or_explain
from tagger.data.datasets import load_split
from tagger.data.readers import Corpus
from tagger.metrics import format_scores, headline
from tagger.reports import write_atomically, write_scores
from tagger.schema import loader_options, register_configs

log = logging.getLogger(__name__)
register_configs()


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


def evaluate_checkpoint(path: Path, corpus: Corpus, cfg: DictConfig, output_dir: Path, data_name: str) -> dict:
    """Score one checkpoint and write its files into `output_dir`."""
    tagger = Tagger.load(path)
    scores = tagger.evaluate(corpus, name=cfg.split, unknown_labels=cfg.unknown_labels.value,
                             entity_strict=cfg.entity_strict, logit_adjustment=cfg.logit_adjustment,
                             threshold=cfg.threshold, batch_size=cfg.batch_size)
    checkpoint = tagger.checkpoint
    metrics = {
        "run": {"checkpoint": str(checkpoint.path), "data": data_name, "split": cfg.split,
                "sentences": len(corpus), "tokens": corpus.num_tokens, "oov_rate": round(scores["oov_rate"], 4),
                "entity_mode": "strict" if cfg.entity_strict else "conlleval",
                "logit_adjustment_tau": checkpoint.tau if cfg.logit_adjustment else None},
        cfg.split: scores,
    }
    write_scores(output_dir, metrics, cfg.split, title="Evaluation report")
    log.info("%s scores of %s (%d sentences, %d tokens, OOV rate %.2f %%):\n%s", cfg.split, checkpoint.path,
             len(corpus), corpus.num_tokens, 100 * scores["oov_rate"], format_scores(scores))
    return metrics


def evaluate(cfg: DictConfig, output_dir: Path) -> dict:
    """Score every checkpoint found at `cfg.checkpoint` on split `cfg.split` of `cfg.data` (null: of the
    data the first checkpoint was trained on).

    One checkpoint: its files go into `output_dir`. Several (a multirun): each run's files go into
    `output_dir/NAME/`, and `runs.csv` has one row per run. Returns the metrics of the first run,
    with `runs` (the table's rows) for several.
    """
    runs = find_runs(cfg.checkpoint)
    options = loader_options(training_config(runs[0]).data if cfg.data is None else cfg.data)
    name = options.pop("name")
    if cfg.data is None:
        log.info("no data= given: scoring the %s split of the data %s was trained on (%s)", cfg.split, runs[0], name)
    corpus = load_split(name, cfg.split, **options)
    if len(runs) == 1:
        return evaluate_checkpoint(runs[0], corpus, cfg, output_dir, name)
    rows, first = [], None
    for path in runs:
        metrics = evaluate_checkpoint(path, corpus, cfg, output_dir / path.parent.name, name)
        first = first or metrics
        rows.append({"run": path.parent.name, "overrides": " ".join(job_overrides(path.parent)),
                     **headline(metrics[cfg.split]), "oov_rate": metrics[cfg.split]["oov_rate"]})
    table = pd.DataFrame(rows)
    write_atomically(output_dir / "runs.csv", table.to_csv(index=False))
    log.info("%s scores of %d runs:\n%s", cfg.split, len(rows), table.to_string(index=False, float_format="%.4f"))
    return {**first, "runs": rows}


@hydra.main(config_path=CONFIG_DIR, config_name="evaluate", version_base="1.3")
def main(cfg: DictConfig) -> float:
    """Evaluate, and return the macro-F1 of the scored split (of the first run)."""
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    return run_or_explain(lambda c: evaluate(c, output_dir)[c.split]["macro_f1"], cfg)


if __name__ == "__main__":
    main()

"""Score a saved checkpoint on any data: `python -m tagger.evaluate checkpoint=PATH [data=...] [split=test]`.

Writes metrics.json and report.md into its own Hydra run directory.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import keras
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from tagger.checkpoint import load_checkpoint
from tagger.cli import run_or_explain
from tagger.data.datasets import load_split
from tagger.data.encode import encode
from tagger.data.readers import Corpus
from tagger.data.vocab import UNK, Vocabularies
from tagger.metrics import format_scores, labels_of, score_tags
from tagger.model import predict_probabilities
from tagger.reports import write_metrics, write_report
from tagger.schema import loader_options, register_configs

log = logging.getLogger(__name__)
register_configs()


def score_corpus(model: keras.Model, corpus: Corpus, vocab: Vocabularies, *, max_chars: int | None = None,
                 batch_size: int = 128, name: str = "corpus") -> dict:
    """Scores of `model` on every token of `corpus` (sentences are never cut for scoring)."""
    data = encode(corpus, vocab, max_chars=max_chars, name=name)
    predicted = labels_of(predict_probabilities(model, data, batch_size=batch_size), vocab.labels.items)
    scores = score_tags(corpus.tags, predicted, vocab.labels.items)
    scores["oov_rate"] = float((data.words[data.mask] == UNK).mean()) if data.mask.any() else 0.0
    return scores


def evaluate(cfg: DictConfig, output_dir: Path) -> dict:
    """Score the checkpoint `cfg.checkpoint` on split `cfg.split` of `cfg.data`; write metrics.json and report.md."""
    checkpoint = load_checkpoint(cfg.checkpoint)
    options = loader_options(cfg.data)
    corpus = load_split(options.pop("name"), cfg.split, **options)
    scores = score_corpus(checkpoint.model, corpus, checkpoint.vocab, max_chars=checkpoint.max_chars,
                          batch_size=cfg.batch_size, name=cfg.split)
    metrics = {
        "run": {"checkpoint": str(checkpoint.path), "data": cfg.data.name, "split": cfg.split,
                "sentences": len(corpus), "tokens": corpus.num_tokens, "oov_rate": round(scores["oov_rate"], 4)},
        cfg.split: scores,
    }
    output_dir.mkdir(parents=True, exist_ok=True)
    write_metrics(output_dir / "metrics.json", metrics)
    write_report(output_dir / "report.md", metrics, title="Evaluation report")
    log.info("%s scores of %s (%d sentences, %d tokens, OOV rate %.2f %%):\n%s", cfg.split, checkpoint.path,
             len(corpus), corpus.num_tokens, 100 * scores["oov_rate"], format_scores(scores))
    return metrics


@hydra.main(config_path="../configs", config_name="evaluate", version_base="1.3")
def main(cfg: DictConfig) -> float:
    """Evaluate, and return the macro-F1 of the scored split."""
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    return run_or_explain(lambda c: evaluate(c, output_dir)[c.split]["macro_f1"], cfg)


if __name__ == "__main__":
    main()

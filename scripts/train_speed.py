"""Print training and prediction speed in real (non-padding) tokens per second, and peak memory.

    .venv/bin/python scripts/train_speed.py [--epochs 4] [HYDRA_OVERRIDE ...]
    .venv/bin/python scripts/train_speed.py data=conll data.train=../shared/data/wnut17/train.conll \
        data.dev=../shared/data/wnut17/dev.conll

Training speed averages the epochs after the first (which includes tracing); prediction speed
tags the dev split with the best checkpoint. Last line, machine-readable:
`train_speed: train_tok_s=N predict_tok_s=N peak_rss_mb=N`.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from hydra import compose, initialize_config_dir

from tagger.checkpoint import load_checkpoint
from tagger.data.datasets import load_split
from tagger.data.encode import encode
from tagger.schema import loader_options
from tagger.scoring import predict_probabilities
from tagger.train import train

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    args, overrides = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose("train", overrides=[f"trainer.epochs={args.epochs}", "trainer.patience=null",
                                          "trainer.verbose=0", *overrides])
    with tempfile.TemporaryDirectory() as run_dir:
        metrics = train(cfg, Path(run_dir))
        history = pd.read_csv(Path(run_dir) / "history.csv")
        checkpoint = load_checkpoint(run_dir)
        options = loader_options(cfg.data)
        dev = encode(load_split(options.pop("name"), "dev", **options), checkpoint.vocab,
                     max_chars=checkpoint.info.max_chars)
        predict_probabilities(checkpoint.model, dev, batch_size=cfg.trainer.eval_batch_size)  # warm-up (tracing)
        started = time.perf_counter()
        predict_probabilities(checkpoint.model, dev, batch_size=cfg.trainer.eval_batch_size)
        predict_tok_s = dev.num_tokens / (time.perf_counter() - started)
    train_tok_s = history["train_tokens_per_s"].iloc[1:].mean() if len(history) > 1 else history["train_tokens_per_s"].iloc[0]
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"data={cfg.data.name} char_encoder={cfg.model.char_encoder.value} batch={cfg.trainer.batch_size} "
          f"epochs={len(history)}: train {train_tok_s:,.0f} tok/s (per epoch: "
          f"{', '.join(f'{v:,.0f}' for v in history['train_tokens_per_s'])}), predict {predict_tok_s:,.0f} tok/s, "
          f"dev macro-F1 {metrics['dev']['macro_f1']:.4f}")
    print(f"train_speed: train_tok_s={train_tok_s:.0f} predict_tok_s={predict_tok_s:.0f} peak_rss_mb={peak_rss_mb:.0f}")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Training and prediction speed of tagger's pipeline against the naive recipe, in one process.

    .venv/bin/python scripts/bench.py [--epochs 2] [--sentences 3000] [--scale 1] [--batch-size 32]
                                      [--skip-wnut] [--skip-naive]

The naive recipe is the original question's: every sentence padded to the corpus's longest,
every word to the longest word (capped at data.max_chars, 30, for both pipelines), whole numpy
arrays passed to `fit` with a temporal `sample_weight`, and the character encoder run at every
token position, padding included. The product pipeline batches sentences of similar length, pads
each batch to its own longest sentence and word, and encodes each distinct word's characters once
per batch. Same model sizes (the default: word 100, char BiLSTM 25+25, BiLSTM 100+100), same
training batch size, same initial weights; both predict in batches of 512 sentences.

Speeds are real (non-padding) tokens per second over whole epochs after one warm-up epoch; peak
memory is the process's resident peak while a pipeline trains and predicts (reset before each on
Linux; what a run leaves allocated carries into the next, so tagger's pipeline runs first).
Workloads: the synthetic set (SENTENCES x SCALE sentences of up to 150 tokens) and WNUT-2017 from
../shared/data/wnut17 when present. Last line, machine-readable:
`bench: train_tok_s=N predict_tok_s=N speedup_vs_naive=X peak_rss_mb=N`, for WNUT-2017 when it
ran (the workload of the speed targets), else for the synthetic set.
"""

from __future__ import annotations

import argparse
import gc
import logging
import resource
import time
from pathlib import Path

import tagger  # noqa: F401  (before TensorFlow: tagger sets its environment defaults)
import keras
import numpy as np
from keras import ops

from tagger import weighting
from tagger.callbacks import Throughput
from tagger.data.datasets import generate_synthetic
from tagger.data.encode import BatchPlan, encode, make_dataset
from tagger.data.readers import read_conll
from tagger.data.vocab import Vocabularies
from tagger.losses import TokenLoss
from tagger.model import CharEncoder, build_tagger
from tagger.options import PREDICT_BATCH_SIZE
from tagger.scoring import predict_probabilities

WNUT = Path(__file__).resolve().parents[2] / "shared" / "data" / "wnut17" / "train.conll"
MAX_CHARS = 30


def reset_peak_rss() -> None:
    """Start the process's peak resident memory afresh (Linux 4.0+; elsewhere peaks accumulate)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PerPositionCharEncoder(CharEncoder):
    """The naive recipe's character encoder: every (sentence, position) slot encoded, padding included."""

    def call(self, chars):
        shape = ops.shape(chars)
        encoded = self.encode_words(ops.reshape(chars, (-1, shape[2])))
        return ops.reshape(encoded, (shape[0], shape[1], self.output_dim))


def fresh_model(vocab, counts, *, naive: bool, seed=0):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = build_tagger(len(vocab.words), len(vocab.chars), len(vocab.labels),
                         output_bias=weighting.prior_log_frequencies(counts))
    if naive:
        naive_model = keras.models.clone_model(model, clone_function=lambda layer: (
            PerPositionCharEncoder if isinstance(layer, CharEncoder) else type(layer)).from_config(layer.get_config()))
        naive_model.set_weights(model.get_weights())
        model = naive_model
    model.compile(optimizer=keras.optimizers.Adam(1e-3, clipnorm=5.0), loss=TokenLoss())
    return model


def run(name: str, corpus, pipeline: str, *, epochs: int, batch_size: int) -> dict:
    """Train `pipeline` ("tagger" or "naive") on `corpus` and time its training and prediction."""
    vocab = Vocabularies.build(corpus.tokens, corpus.tags)
    data = encode(corpus, vocab, max_chars=MAX_CHARS, name=name)
    counts = weighting.label_counts(data.labels, data.mask, len(vocab.labels))
    weights = weighting.temporal_sample_weights(
        data.labels, data.mask, weighting.class_weights(counts, vocab.labels.items, "inverse_sqrt"))
    tokens = int(data.mask.sum())
    gc.collect()
    reset_peak_rss()
    model = fresh_model(vocab, counts, naive=pipeline == "naive")
    throughput = Throughput(tokens)
    if pipeline == "tagger":
        plan = BatchPlan(data.lengths, batch_size, seed=0)
        model.fit(make_dataset(data, weights, batch_size=batch_size, plan=plan), epochs=1 + epochs,
                  callbacks=[throughput], verbose=0, shuffle=False)
        predict = lambda: predict_probabilities(model, data, batch_size=PREDICT_BATCH_SIZE)  # noqa: E731
    else:
        x = {"words": data.words, "chars": data.chars}
        model.fit(x, data.labels, sample_weight=weights, batch_size=batch_size, epochs=1 + epochs,
                  callbacks=[throughput], verbose=0, shuffle=True)
        predict = lambda: model.predict(x, batch_size=PREDICT_BATCH_SIZE, verbose=0)  # noqa: E731
    train_tok_s = float(np.mean(model.history.history["train_tokens_per_s"][1:]))
    predict()  # warm-up: tracing
    started = time.perf_counter()
    predict()
    predict_tok_s = tokens / (time.perf_counter() - started)
    print(f"  {name:<14} {pipeline:<7} train {train_tok_s:>9,.0f} tok/s ({tokens / train_tok_s:6.1f} s/epoch)"
          f"  predict {predict_tok_s:>9,.0f} tok/s  peak RSS {peak_rss_mb():,.0f} MB", flush=True)
    return {"workload": name, "pipeline": pipeline, "sentences": len(corpus), "tokens": tokens,
            "padded_to": f"{data.words.shape[1]}x{data.chars.shape[2]}" if pipeline == "naive" else "batch",
            "train_tok_s": train_tok_s, "epoch_s": tokens / train_tok_s, "predict_tok_s": predict_tok_s,
            "peak_rss_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2, help="measured epochs, after one warm-up epoch")
    parser.add_argument("--sentences", type=int, default=3000, help="synthetic sentences at scale 1")
    parser.add_argument("--scale", type=int, default=1, help="synthetic corpus size: SENTENCES x SCALE")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--wnut", type=Path, default=WNUT, help="WNUT-2017 train.conll (default: %(default)s)")
    parser.add_argument("--skip-wnut", action="store_true")
    parser.add_argument("--skip-naive", action="store_true", help="tagger's pipeline only (for --scale runs)")
    args = parser.parse_args()
    pipelines = ("tagger",) if args.skip_naive else ("tagger", "naive")
    logging.basicConfig(level=logging.ERROR)
    print(f"bench: {args.epochs} measured epochs after a warm-up, batch {args.batch_size}, "
          f"{keras.config.backend()} backend")
    workloads = {f"synthetic x{args.scale}": generate_synthetic(args.sentences * args.scale, seed=0)}
    if args.wnut.is_file() and not args.skip_wnut:
        workloads["wnut17"] = read_conll(args.wnut)
    # tagger's pipeline first on every workload: memory the naive runs leave behind stays out of its figures
    rows = [run(name, corpus, pipeline, epochs=args.epochs, batch_size=args.batch_size)
            for pipeline in pipelines for name, corpus in workloads.items()]
    rows.sort(key=lambda row: list(workloads).index(row["workload"]))  # stable: tagger above naive
    naive_rows = {row["workload"]: row for row in rows if row["pipeline"] == "naive"}
    speedup = {row["workload"]: row["train_tok_s"] / naive_rows[row["workload"]]["train_tok_s"]
               if row["workload"] in naive_rows else float("nan") for row in rows if row["pipeline"] == "tagger"}
    print(f"\n{'workload':<14} {'pipeline':<8} {'padded to':>10} {'train tok/s':>12} {'s/epoch':>8} "
          f"{'predict tok/s':>14} {'peak MB':>8} {'speedup':>8}")
    for row in rows:
        ratio = speedup[row["workload"]] if row["pipeline"] == "tagger" else 1.0
        print(f"{row['workload']:<14} {row['pipeline']:<8} {row['padded_to']:>10} {row['train_tok_s']:>12,.0f} "
              f"{row['epoch_s']:>8.1f} {row['predict_tok_s']:>14,.0f} {row['peak_rss_mb']:>8,.0f} "
              f"{'-' if np.isnan(ratio) else f'{ratio:.2f}x':>8}")
    # the issue's targets are WNUT-2017's: the last line reports it when it ran, else the synthetic set
    product = [row for row in rows if row["pipeline"] == "tagger"][-1]
    print(f"bench: train_tok_s={product['train_tok_s']:.0f} predict_tok_s={product['predict_tok_s']:.0f} "
          f"speedup_vs_naive={speedup[product['workload']]:.2f} peak_rss_mb={product['peak_rss_mb']:.0f}")


if __name__ == "__main__":
    main()

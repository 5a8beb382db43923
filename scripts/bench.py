"""Training and prediction speed of tagger's pipeline against the naive recipe, in one process; with
--memory, the peak memory of a training run with and without one very long sentence; with --scale, peak
memory and time per epoch as the corpus grows, in memory and streamed.

    .venv/bin/python scripts/bench.py [--epochs 2] [--sentences 3000] [--batch-size 32]
                                      [--skip-wnut] [--skip-naive]
    .venv/bin/python scripts/bench.py --memory [TRAIN.conll] [--long-sentence 5000] [-- OVERRIDES]
    .venv/bin/python scripts/bench.py --scale 1 10 100 [--sentences 3000] [--steps 300] [--long-sentence 5000]

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
Workloads: the synthetic set (SENTENCES sentences of up to 150 tokens) and WNUT-2017 from
../shared/data/wnut17 when present. Last line, machine-readable:
`bench: train_tok_s=N predict_tok_s=N speedup_vs_naive=X peak_rss_mb=N`, for WNUT-2017 when it
ran (the workload of the speed targets), else for the synthetic set.

--memory (nothing timed) trains one epoch of the default configuration (`python -m tagger.train
data=conll trainer.epochs=1 trainer.threads=1`, plus OVERRIDES) on TRAIN (default: WNUT-2017's),
with the dev.conll and test.conll beside it when they exist, twice, each in its own process: on
TRAIN as given, and on TRAIN with one sentence of --long-sentence tokens appended (its first tokens
read as one sentence, as a missing blank line between documents makes). It prints each process's
peak resident memory, and the bytes of the encoded training split against real tokens x 4 bytes
per token id + real characters x 4 bytes per character id. Last line:
`memory: peak_rss_mb=N long_sentence_peak_rss_mb=N added_mb=N`.

--scale K [K ...] writes synthetic training files of SENTENCES x K sentences (and one of SENTENCES plus
a --long-sentence sentence) and, for each, in a process of its own, prepares it as `python -m
tagger.train data=conll` does, held in memory or streamed into shards (`data.streaming=true`), and
trains the default model (batch --batch-size) for 20 warm-up steps and then --steps timed ones, or
the whole epoch when it is shorter. It prints the preparation time (reading, counting, encoding or
writing shards), the seconds per epoch (timed steps scaled to the epoch's) and the process's peak
resident memory. Last line: `scale: streaming_peak_mb_min=N streaming_peak_mb_max=N memory_peak_mb_max=N`
over the K corpora.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
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
from tagger.data.readers import Corpus, read_conll
from tagger.data.vocab import Vocabularies
from tagger.losses import TokenLoss
from tagger.model import CharEncoder, build_tagger
from tagger.options import PREDICT_BATCH_SIZE
from tagger.scoring import predict_probabilities

ROOT = Path(__file__).resolve().parents[1]
WNUT = ROOT.parent / "shared" / "data" / "wnut17" / "train.conll"
MAX_CHARS = 30
LONG_SENTENCE = 5000
SCALE_CHUNK = 3000  # --scale writes synthetic corpora this many sentences at a time
SCALE_WARM_UP = 20  # --scale: training steps before the timed ones


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
    counts = weighting.label_counts(data.labels, len(vocab.labels))
    weights = weighting.token_sample_weights(data.labels, weighting.class_weights(counts, vocab.labels.items,
                                                                                  "inverse_sqrt"))
    tokens = data.num_tokens
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
        x, y, padded_weights = data.padded(np.arange(len(data)), weights)  # the whole corpus padded to its longest
        model.fit(x, y, sample_weight=padded_weights, batch_size=batch_size, epochs=1 + epochs,
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
            "padded_to": f"{x['chars'].shape[1]}x{x['chars'].shape[2]}" if pipeline == "naive" else "batch",
            "train_tok_s": train_tok_s, "epoch_s": tokens / train_tok_s, "predict_tok_s": predict_tok_s,
            "peak_rss_mb": peak_rss_mb()}


def long_sentence(corpus: Corpus, length: int) -> tuple[list[str], list[str]]:
    """The first `length` tokens of `corpus` and their tags (read again from the start if it has fewer), as
    one sentence: what a missing blank line between documents makes.

    >>> long_sentence(Corpus([["a", "b"], ["c"]], [["O", "X"], ["O"]]), 5)
    (['a', 'b', 'c', 'a', 'b'], ['O', 'X', 'O', 'O', 'X'])
    """
    tokens, tags = [w for s in corpus.tokens for w in s], [t for s in corpus.tags for t in s]
    return [tokens[i % len(tokens)] for i in range(length)], [tags[i % len(tags)] for i in range(length)]


def with_sentence_appended(train: Path, directory: Path, sentence: tuple[list[str], list[str]]) -> Path:
    """A copy of the CoNLL file `train` in `directory` with `sentence` (tokens, tags) appended, and links to
    the dev.conll and test.conll beside `train`."""
    copy = directory / train.name
    copy.write_text(train.read_text(encoding="utf-8").rstrip("\n") + "\n\n"
                    + "".join(f"{w}\t{t}\n" for w, t in zip(*sentence)), encoding="utf-8")
    for split in ("dev.conll", "test.conll"):
        if (train.parent / split).is_file():
            (directory / split).symlink_to(train.parent / split)
    return copy


def training_peak_mb(train: Path, run_dir: Path, overrides) -> float:
    """Peak resident memory (MB) of `python -m tagger.train` for one epoch on `train` (with the dev.conll and
    test.conll beside it), in its own process."""
    splits = {"train": train, **{s: train.parent / f"{s}.conll" for s in ("dev", "test")
                                 if (train.parent / f"{s}.conll").is_file()}}
    command = [sys.executable, "-m", "tagger.train", "data=conll", *(f"data.{s}={p}" for s, p in splits.items()),
               "trainer.epochs=1", "trainer.threads=1", "trainer.verbose=0", f"hydra.run.dir={run_dir}", *overrides]
    with open(run_dir.with_suffix(".log"), "w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)  # the resource usage of this one child
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"training failed (exit {process.returncode}): {' '.join(command)}; "
                           f"see {run_dir.with_suffix('.log')}")
    return usage.ru_maxrss / 1024


def encoded_size(corpus: Corpus) -> str:
    """The bytes of `corpus` encoded for training, against its ids alone and against the layout padded to
    its longest sentence and word."""
    data = encode(corpus, Vocabularies.build(corpus.tokens, corpus.tags), max_chars=MAX_CHARS)
    ids = 4 * (data.num_tokens + len(data.char_ids))  # int32 word and character ids
    padded = 4 * len(data) * int(data.lengths.max()) * (2 + int(np.diff(data.char_splits).max()))  # words, labels, chars
    return (f"{data.nbytes / 2**20:,.1f} MB for {data.num_tokens:,} tokens and {len(data.char_ids):,} characters, "
            f"{data.nbytes / ids:.2f}x their ids at 4 bytes each; padded to its longest sentence and word: "
            f"{padded / 2**20:,.0f} MB")


def memory(train: Path, length: int, overrides) -> None:
    """Print the peak memory of one training epoch on `train` as given and with a `length`-token sentence."""
    corpus = read_conll(train)
    extra = long_sentence(corpus, length)
    appended = Corpus(corpus.tokens + [extra[0]], corpus.tags + [extra[1]])
    runs = {"as given": corpus, f"+ {length:,}-token sentence": appended}
    print(f"memory: one epoch of python -m tagger.train on {' '.join([str(train), *overrides])}, as given and "
          f"with one {length:,}-token sentence appended, each in its own process")
    peaks = []
    with tempfile.TemporaryDirectory() as tmp:
        files = [train, with_sentence_appended(train, Path(tmp), extra)]
        for number, ((name, sentences), path) in enumerate(zip(runs.items(), files)):
            peaks.append(round(training_peak_mb(path, Path(tmp) / f"run{number}", overrides)))
            print(f"  {name:<28} {len(sentences):>7,} sentences {sentences.num_tokens:>9,} tokens  longest "
                  f"{max(map(len, sentences.tokens)):>6,}  peak RSS {peaks[-1]:>7,.0f} MB", flush=True)
    print(f"  encoded training split with the long sentence: {encoded_size(appended)}")
    print(f"memory: peak_rss_mb={peaks[0]} long_sentence_peak_rss_mb={peaks[1]} added_mb={peaks[1] - peaks[0]}")


def write_synthetic(path: Path, sentences: int, *, long_sentence_tokens: int = 0, seed: int = 0) -> tuple[int, int]:
    """Write `sentences` synthetic sentences as a CoNLL file, generated SCALE_CHUNK at a time (so that the
    writer never holds the corpus), plus one sentence of `long_sentence_tokens`; return (sentences, tokens)."""
    written = tokens = 0
    with open(path, "w", encoding="utf-8") as file:
        for number, start in enumerate(range(0, sentences, SCALE_CHUNK)):
            chunk = generate_synthetic(min(SCALE_CHUNK, sentences - start), seed=seed + number)
            file.writelines("".join(f"{w}\t{t}\n" for w, t in zip(*sentence)) + "\n"
                            for sentence in zip(chunk.tokens, chunk.tags))
            written, tokens = written + len(chunk), tokens + chunk.num_tokens
        if long_sentence_tokens:
            file.write("".join(f"{w}\t{t}\n" for w, t in zip(*long_sentence(chunk, long_sentence_tokens))))
            written, tokens = written + 1, tokens + long_sentence_tokens
    return written, tokens


def scale_child(mode: str, train: Path, dev: Path, steps: int, batch_size: int) -> None:
    """In a process of its own: prepare `train` as `python -m tagger.train data=conll` does (in memory, or
    streamed into shards with `mode` "streaming"), train the default model for a warm-up and then `steps`
    steps (a whole epoch if it has fewer), and print the figures as one JSON line."""
    from tagger.data.prepare import read_training_data
    from tagger.fitting import compiled_tagger, start_clean, training_batches

    start_clean(0, deterministic=True)
    started = time.perf_counter()
    prepared = read_training_data({"name": "conll", "train": str(train), "dev": str(dev)},
                                  streaming=mode == "streaming", max_len=128, digits_to_zero=True)
    labels = list(prepared.vocab.labels.items)
    weights = weighting.label_weights_for(labels, prepared.counts.label_counts(labels), prepared.counts.tokens)
    with tempfile.TemporaryDirectory(dir=train.parent) as shards_dir:
        data = prepared.encoded_train(max_chars=MAX_CHARS, shards_dir=Path(shards_dir), shard_sentences=10_000)
        prepare_s = time.perf_counter() - started
        model = compiled_tagger(prepared.vocab, weights)
        plan, batches = training_batches(data, weights, batch_size=batch_size)
        timed = min(steps, len(plan))
        model.fit(batches, epochs=1, steps_per_epoch=SCALE_WARM_UP, verbose=0)  # tracing
        started = time.perf_counter()
        model.fit(batches, epochs=1, steps_per_epoch=timed, verbose=0)
        step_s = (time.perf_counter() - started) / timed
    print(json.dumps({"prepare_s": prepare_s, "timed_steps": timed, "epoch_steps": len(plan),
                      "epoch_s": step_s * len(plan)}))


def scale(factors: list[int], sentences: int, steps: int, batch_size: int, long_sentence_tokens: int) -> None:
    """Print peak memory and seconds per epoch of training on synthetic corpora of `sentences` x K sentences
    (and of `sentences` plus one long sentence), in memory and streamed, each in its own process."""
    print(f"scale: synthetic corpora, default model, batch {batch_size}, each run in its own process; "
          f"s/epoch from {steps} timed steps after {SCALE_WARM_UP} warm-up steps (the whole epoch when shorter)")
    print(f"{'corpus':<24} {'sentences':>9} {'tokens':>11} {'mode':<10} {'prepare s':>9} {'s/epoch':>8} "
          f"{'steps timed':>13} {'peak MB':>8}")
    peaks = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        dev = tmp / "dev.conll"
        write_synthetic(dev, 300, seed=1_000_000)
        corpora = [(f"K = {k}", k * sentences, 0) for k in factors]
        corpora.append((f"K = 1 + {long_sentence_tokens:,}-token", sentences, long_sentence_tokens))
        for name, count, long_tokens in corpora:
            train = tmp / "train.conll"
            written, tokens = write_synthetic(train, count, long_sentence_tokens=long_tokens)
            for mode in ("memory", "streaming"):
                command = [sys.executable, str(Path(__file__).resolve()), "--scale-child", mode, str(train), str(dev),
                           "--steps", str(steps), "--batch-size", str(batch_size)]
                process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT, text=True)
                output = process.stdout.read()
                _, status, usage = os.wait4(process.pid, 0)
                if os.waitstatus_to_exitcode(status):
                    raise RuntimeError(f"{' '.join(command)} failed; run it alone to see why")
                row = json.loads(output.strip().splitlines()[-1])
                peaks[name, mode] = usage.ru_maxrss / 1024
                print(f"{name:<24} {written:>9,} {tokens:>11,} {mode:<10} {row['prepare_s']:>9.1f} "
                      f"{row['epoch_s']:>8.1f} {row['timed_steps']:>6,}/{row['epoch_steps']:<6,} "
                      f"{peaks[name, mode]:>8,.0f}", flush=True)
    streaming = [peaks[f"K = {k}", "streaming"] for k in factors]
    print(f"scale: streaming_peak_mb_min={min(streaming):.0f} streaming_peak_mb_max={max(streaming):.0f} "
          f"memory_peak_mb_max={max(peaks[f'K = {k}', 'memory'] for k in factors):.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2, help="measured epochs, after one warm-up epoch")
    parser.add_argument("--sentences", type=int, default=3000, help="synthetic sentences at scale 1")
    parser.add_argument("--scale", type=int, nargs="+", metavar="K",
                        help="peak memory and s/epoch of training on SENTENCES x K synthetic sentences (and on "
                             "SENTENCES plus one --long-sentence), in memory and streamed; nothing else runs")
    parser.add_argument("--steps", type=int, default=300, help="--scale: timed training steps per run")
    parser.add_argument("--scale-child", nargs=3, metavar=("MODE", "TRAIN", "DEV"), help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--wnut", type=Path, default=WNUT, help="WNUT-2017 train.conll (default: %(default)s)")
    parser.add_argument("--skip-wnut", action="store_true")
    parser.add_argument("--skip-naive", action="store_true", help="tagger's pipeline only (for --scale runs)")
    parser.add_argument("--memory", type=Path, nargs="?", const=WNUT, metavar="TRAIN",
                        help="peak memory of one training epoch on TRAIN with and without a long sentence "
                             "(default TRAIN: %(const)s); nothing timed")
    parser.add_argument("--long-sentence", type=int, default=LONG_SENTENCE, help="tokens of the appended sentence")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of the --memory runs (after --)")
    args = parser.parse_args()
    if args.overrides and args.memory is None:
        parser.error(f"Hydra overrides {args.overrides} apply to --memory runs only")
    logging.basicConfig(level=logging.ERROR)
    if args.scale_child:
        mode, train, dev = args.scale_child
        scale_child(mode, Path(train), Path(dev), args.steps, args.batch_size)
        return
    if args.scale:
        scale(args.scale, args.sentences, args.steps, args.batch_size, args.long_sentence)
        return
    if args.memory is not None:
        if not args.memory.is_file():
            parser.error(f"--memory {args.memory}: no such file; give a CoNLL training file")
        memory(args.memory, args.long_sentence, args.overrides)
        return
    pipelines = ("tagger",) if args.skip_naive else ("tagger", "naive")
    print(f"bench: {args.epochs} measured epochs after a warm-up, batch {args.batch_size}, "
          f"{keras.config.backend()} backend")
    workloads = {"synthetic": generate_synthetic(args.sentences, seed=0)}
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

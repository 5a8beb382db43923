"""Check a checkpoint's exported SavedModel against `python -m tagger.predict`: every tag of a file,
and with --speed the prediction speed of both in real tokens per second.

    .venv/bin/python scripts/export_check.py --checkpoint outputs/DATE/TIME    # WNUT-2017 test by default
    .venv/bin/python scripts/export_check.py --checkpoint RUN --input tokens.conll --speed

The checkpoint is exported into a temporary directory (or `--export DIR`, kept), the export is
loaded with `tf.saved_model.load` and tags the sentences in batches of `--batch-size` sentences
of similar length, as predict batches them. With --speed, each side tags the whole file once to
warm up, then `--repeats` times, and the best time counts. Last line, machine-readable:
`export_check: {"tokens": N, "equal": N, "sentences_differing": N, ...}`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import tagger  # noqa: F401  (before TensorFlow: tagger sets its environment defaults)
import numpy as np
import tensorflow as tf

from tagger.api import Tagger
from tagger.checkpoint import load_checkpoint
from tagger.data.readers import decode_utf8, read_untagged
from tagger.options import PREDICT_BATCH_SIZE
from tagger.serving import export_checkpoint

WNUT_TEST = Path(__file__).resolve().parents[2] / "shared" / "data" / "wnut17" / "test.conll"


def tag_with_saved_model(serve, sentences: list[list[str]], *, batch_size: int = PREDICT_BATCH_SIZE) -> list[list[str]]:
    """Per sentence, the tags that the SavedModel's serving signature `serve` gives, called on
    batches of `batch_size` sentences in order of length."""
    order = np.argsort([len(sentence) for sentence in sentences], kind="stable")
    tagged: list[list[str]] = [None] * len(sentences)
    for first in range(0, len(order), batch_size):
        batch = [sentences[i] for i in order[first:first + batch_size]]
        tokens = tf.ragged.constant(batch)
        tags = serve(tokens=tokens.to_tensor(""), lengths=tf.cast(tokens.row_lengths(), tf.int32))["tags"].numpy()
        for i, row, sentence in zip(order[first:first + batch_size], tags, batch):
            tagged[i] = [tag.decode() for tag in row[:len(sentence)]]
    return tagged


def best_time(tag, repeats: int) -> float:
    """The shortest of `repeats` timed calls of `tag()`, after one call to warm up."""
    tag()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        tag()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="a checkpoint directory or a training run directory")
    parser.add_argument("--input", type=Path, default=WNUT_TEST, help="CoNLL file to tag (first column read)")
    parser.add_argument("--export", type=Path, help="write the SavedModel here (default: a temporary directory)")
    parser.add_argument("--batch-size", type=int, default=PREDICT_BATCH_SIZE)
    parser.add_argument("--speed", action="store_true", help="also measure tokens/s of both")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if not args.input.is_file():
        raise SystemExit(f"--input {args.input}: no such file")
    sentences = read_untagged(decode_utf8(args.input.read_bytes(), args.input), "conll", source=args.input)
    tokens = sum(map(len, sentences))
    checkpoint = load_checkpoint(args.checkpoint)
    with tempfile.TemporaryDirectory() as temporary:
        export_dir = export_checkpoint(checkpoint, args.export or Path(temporary) / "export")
        serve = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
        by_predict = Tagger(checkpoint).tag(sentences, batch_size=args.batch_size)
        by_export = tag_with_saved_model(serve, sentences, batch_size=args.batch_size)
        pairs = [(a, b) for p, e in zip(by_predict, by_export) for a, b in zip(p, e)]
        result = {"input": str(args.input), "checkpoint": str(checkpoint.path), "head": checkpoint.info.head,
                  "sentences": len(sentences), "tokens": tokens, "equal": sum(a == b for a, b in pairs),
                  "sentences_differing": sum(p != e for p, e in zip(by_predict, by_export)),
                  "non_o_tags": sum(a != "O" for a, _ in pairs)}
        print(f"{result['equal']:,} of {tokens:,} tags equal ({result['sentences_differing']} sentences differ; "
              f"predict gave {result['non_o_tags']:,} tags other than O)")
        if args.speed:
            for name, tag in (("predict", lambda: Tagger(checkpoint).tag(sentences, batch_size=args.batch_size)),
                              ("export", lambda: tag_with_saved_model(serve, sentences, batch_size=args.batch_size))):
                result[f"{name}_tok_s"] = round(tokens / best_time(lambda: list(tag()), args.repeats))
            print(f"predict {result['predict_tok_s']:,} tok/s, SavedModel {result['export_tok_s']:,} tok/s "
                  f"(best of {args.repeats}, batches of {args.batch_size})")
    print(f"export_check: {json.dumps(result)}")


if __name__ == "__main__":
    main(sys.argv[1:])

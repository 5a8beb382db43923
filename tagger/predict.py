"""Tag new text with a checkpoint: `python -m tagger.predict checkpoint=DIR input=FILE|- output=FILE|-`.

Input: one token per line with a blank line between sentences (`input_format=conll`; the first
column is read, and comments and `-DOCSTART-` lines are skipped, as in training files), or one
whitespace-tokenised sentence per line (`input_format=text`).
Output: `token<TAB>tag` lines (plus the tag's probability with `output_probs=true`), a blank line
after each sentence. Tokens are written exactly as read, and sentences are never cut: the model
reads sentences of any length.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from tagger.checkpoint import Checkpoint, load_checkpoint
from tagger.cli import run_or_explain
from tagger.data.encode import encode
from tagger.data.readers import Corpus, decode_utf8, read_untagged
from tagger.options import PREDICT_BATCH_SIZE
from tagger.schema import register_configs
from tagger.scoring import predict_probabilities, tags_and_probabilities

log = logging.getLogger(__name__)
register_configs()


def tag_sentences(checkpoint: Checkpoint, sentences: list[list[str]], *, batch_size: int = PREDICT_BATCH_SIZE,
                  logit_adjustment: bool = True, threshold: float = 0.5):
    """Per sentence, the predicted tags and their probabilities (after the checkpoint's logit
    adjustment, when it has one and `logit_adjustment` is on)."""
    placeholder = checkpoint.vocab.labels.items[0]  # tags are unknown; the encoder still fills label arrays
    corpus = Corpus(sentences, [[placeholder] * len(s) for s in sentences])
    data = encode(corpus, checkpoint.vocab, max_chars=checkpoint.info.max_chars, name="input")
    outputs = predict_probabilities(checkpoint.model, data, batch_size=batch_size)
    return tags_and_probabilities(checkpoint.model, outputs, checkpoint.vocab.labels.items,
                                  multi_label=checkpoint.vocab.multi_label,
                                  logit_shift=checkpoint.logit_shift if logit_adjustment else None, threshold=threshold)


def format_conll(sentences, tagged, *, with_probabilities: bool = False) -> str:
    lines = []
    for words, (tags, probabilities) in zip(sentences, tagged):
        for word, tag, probability in zip(words, tags, probabilities):
            lines.append(f"{word}\t{tag}\t{probability:.4f}" if with_probabilities else f"{word}\t{tag}")
        lines.append("")
    return "\n".join(lines) + ("\n" if lines else "")


def predict(cfg: DictConfig) -> int:
    """Tag `cfg.input` into `cfg.output`; return the number of sentences."""
    checkpoint = load_checkpoint(cfg.checkpoint)
    if cfg.input == "-":
        source, raw = "<stdin>", sys.stdin.buffer.read()
    else:
        source = Path(cfg.input)
        if not source.is_file():
            raise FileNotFoundError(f"{source}: no such file")
        raw = source.read_bytes()
    sentences = read_untagged(decode_utf8(raw, source), cfg.input_format.value, source=source)
    if not sentences:
        log.warning("%s: no sentences to tag", cfg.input)
    if cfg.output_probs and checkpoint.info.head != "softmax":
        raise ValueError("output_probs=true needs a softmax model: a CRF gives whole paths, and multi-label tags "
                         "one probability per label")
    threshold = checkpoint.info.threshold if cfg.threshold is None else cfg.threshold
    tagged = tag_sentences(checkpoint, sentences, batch_size=cfg.batch_size, logit_adjustment=cfg.logit_adjustment,
                           threshold=threshold)
    output = format_conll(sentences, tagged, with_probabilities=cfg.output_probs)
    if cfg.output == "-":
        sys.stdout.write(output)
        sys.stdout.flush()
    else:
        Path(cfg.output).write_text(output, encoding="utf-8")
    log.info("tagged %d sentences, %d tokens -> %s", len(sentences), sum(map(len, sentences)), cfg.output)
    return len(sentences)


@hydra.main(config_path="../configs", config_name="predict", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run_or_explain(predict, cfg)


if __name__ == "__main__":
    main()

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

from tagger.api import Tagger
from tagger.cli import CONFIG_DIR, run_or_explain
from tagger.data.readers import decode_utf8, read_untagged
from tagger.schema import register_configs

log = logging.getLogger(__name__)
register_configs()


def format_conll(sentences: list[list[str]], tagged) -> str:
    """`token<TAB>tag` lines, or `token<TAB>tag<TAB>probability` for (tag, probability) pairs (what
    `Tagger.tag` returns), with a blank line after each sentence.

    >>> format_conll([["New", "York"], ["Hi"]], [["B-LOC", "I-LOC"], ["O"]])
    'New\\tB-LOC\\nYork\\tI-LOC\\n\\nHi\\tO\\n\\n'
    >>> format_conll([["Hi"]], [[("O", 0.98765)]])
    'Hi\\tO\\t0.9877\\n\\n'
    """
    lines = []
    for words, tags in zip(sentences, tagged):
        for word, tag in zip(words, tags):
            lines.append(f"{word}\t{tag}" if isinstance(tag, str) else f"{word}\t{tag[0]}\t{tag[1]:.4f}")
        lines.append("")
    return "\n".join(lines) + ("\n" if lines else "")


def predict(cfg: DictConfig) -> int:
    """Tag `cfg.input` into `cfg.output`; return the number of sentences."""
    tagger = Tagger.load(cfg.checkpoint)
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
    tagged = tagger.tag(sentences, probabilities=cfg.output_probs, logit_adjustment=cfg.logit_adjustment,
                        threshold=cfg.threshold, batch_size=cfg.batch_size)
    output = format_conll(sentences, tagged)
    if cfg.output == "-":
        sys.stdout.write(output)
        sys.stdout.flush()
    else:
        Path(cfg.output).write_text(output, encoding="utf-8")
    log.info("tagged %d sentences, %d tokens -> %s", len(sentences), sum(map(len, sentences)), cfg.output)
    return len(sentences)


@hydra.main(config_path=CONFIG_DIR, config_name="predict", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run_or_explain(predict, cfg)


if __name__ == "__main__":
    main()

"""The Python API, for notebooks and services (no Hydra): `Tagger.load` a trained run, then `tag`
sentences and `evaluate` tagged data.

    from tagger import Tagger

    tagger = Tagger.load("outputs/2026-05-01/12-00-00")  # a run directory, or its checkpoint/
    tagger.tag(["John lives in New York", ["Mary", "went", "to", "Paris"]])
    tagger.evaluate("test.conll")["macro_f1"]

`python -m tagger.predict` and `python -m tagger.evaluate` tag and score through this class, so
the API and the commands give the same tags and scores for the same options.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from omegaconf import DictConfig

from tagger.checkpoint import Checkpoint, load_checkpoint, training_config
from tagger.data.encode import encode
from tagger.data.readers import Corpus, read_corpus
from tagger.options import PREDICT_BATCH_SIZE
from tagger.scoring import predict_probabilities, score_corpus, tags_and_probabilities


def token_lists(sentences: Iterable[str | Sequence[str]]) -> list[list[str]]:
    """Sentences as token lists: a string is split at whitespace, a sequence of tokens is kept as it is.

    >>> token_lists(["John  lives here", ["New York", "!"], ""])
    [['John', 'lives', 'here'], ['New York', '!'], []]
    """
    if isinstance(sentences, str):
        raise TypeError(f"sentences must be a list of sentences, got one string ({sentences[:40]!r}); "
                        "pass a list: tag([text])")
    tokens = [sentence.split() if isinstance(sentence, str) else list(sentence) for sentence in sentences]
    for number, sentence in enumerate(tokens):
        odd = [token for token in sentence if not isinstance(token, str)]
        if odd:
            raise TypeError(f"sentence {number}: tokens must be strings, got {odd[0]!r} "
                            f"({type(odd[0]).__name__}); give a sentence as a string or a list of strings")
    return tokens


class Tagger:
    """A trained tagger: a checkpoint's model, vocabularies and record, with the decoding the
    checkpoint asks for (its logit adjustment, decision threshold, and Viterbi for a CRF head)."""

    def __init__(self, checkpoint: Checkpoint):
        self.checkpoint = checkpoint

    @classmethod
    def load(cls, path: str | Path) -> Tagger:
        """The tagger saved in `path`: a training run directory, or the checkpoint/ directory inside one."""
        return cls(load_checkpoint(path))

    def __repr__(self) -> str:
        return f"Tagger({str(self.checkpoint.path)!r}, head={self.checkpoint.info.head}, {len(self.labels)} labels)"

    @property
    def labels(self) -> list[str]:
        """The model's labels, in the order of its outputs (for a model trained on the IOBES tags of IOB2
        data, IOBES labels: its tags come out as IOB2, `Vocabularies.tag_names`)."""
        return list(self.checkpoint.vocab.labels.items)

    @property
    def config(self) -> DictConfig:
        """The config the model was trained with (the checkpoint's config.yaml)."""
        return training_config(self.checkpoint.path)

    def _decoding(self, logit_adjustment: bool, threshold: float | None) -> dict:
        """Keyword arguments of the scoring functions: the logit shift (None without an adjustment, or
        when `logit_adjustment` is off) and the multi-label threshold (None: the checkpoint's)."""
        return {"logit_shift": self.checkpoint.logit_shift if logit_adjustment else None,
                "threshold": self.checkpoint.info.threshold if threshold is None else threshold}

    def tag(self, sentences: Iterable[str | Sequence[str]], *, probabilities: bool = False,
            logit_adjustment: bool = True, threshold: float | None = None,
            batch_size: int = PREDICT_BATCH_SIZE) -> list[list[str]] | list[list[tuple[str, float]]]:
        """The tags of every token of `sentences`: one list of tags per sentence.

        Each sentence is a whitespace-tokenised string or a list of tokens (a list of strings is
        a list of sentences, so wrap one tokenised sentence in a list). With `probabilities` (softmax
        models only), (tag, probability) pairs instead of tags. `logit_adjustment` applies the
        checkpoint's tuned logit adjustment when it has one; `threshold` decides multi-label tags
        (None: the checkpoint's). Sentences are never cut: the model reads any length.
        """
        tokens = token_lists(sentences)
        if probabilities and self.checkpoint.info.head != "softmax":
            raise ValueError(f"probabilities (predict's output_probs=true) need a softmax model; this one has a "
                             f"{self.checkpoint.info.head} head: a CRF gives whole paths, and multi-label tags one "
                             "probability per label")
        tag_names = self.checkpoint.vocab.tag_names
        placeholder = tag_names[0]  # tags are unknown; the encoder still fills label arrays
        data = encode(Corpus(tokens, [[placeholder] * len(s) for s in tokens]), self.checkpoint.vocab,
                      max_chars=self.checkpoint.info.max_chars, name="input")
        outputs = predict_probabilities(self.checkpoint.model, data, batch_size=batch_size)
        tagged = tags_and_probabilities(self.checkpoint.model, outputs, tag_names,
                                        multi_label=self.checkpoint.vocab.multi_label,
                                        **self._decoding(logit_adjustment, threshold))
        if probabilities:
            return [list(zip(tags, values)) for tags, values in tagged]
        return [tags for tags, _ in tagged]

    def evaluate(self, data: str | Path | Corpus, *, unknown_labels: str = "error", entity_strict: bool = False,
                 logit_adjustment: bool = True, threshold: float | None = None, batch_size: int = PREDICT_BATCH_SIZE,
                 name: str | None = None, **reader_options) -> dict:
        """The scores of the model on `data`, a tagged file or a `Corpus`: the dict that metrics.json
        holds for a split (per-label precision/recall/F1/support, macro/micro/weighted F1, accuracy,
        OOV rate, entity-level figures for span labels).

        A file is read as in training: CoNLL, CoNLL-U or CSV/TSV by its suffix, or `file_format=...`;
        `reader_options` are the readers' options (`token_column`, `tag_column`, `tag_field`, ...).
        Gold labels the model does not know raise an error, unless `unknown_labels` is `as_o`
        (scored as O), `ignore` (their tokens left out) or None (scored as given). `entity_strict`
        scores spans by strict IOB2/IOBES rules instead of conlleval's. `name` names the data in
        messages (default: the file).
        """
        corpus = data if isinstance(data, Corpus) else read_corpus(data, **reader_options)
        return score_corpus(self.checkpoint.model, corpus, self.checkpoint.vocab,
                            max_chars=self.checkpoint.info.max_chars, batch_size=batch_size,
                            name=name or ("corpus" if isinstance(data, Corpus) else str(data)), strict=entity_strict,
                            unknown_labels=unknown_labels, **self._decoding(logit_adjustment, threshold))

"""Built-in data sets and user files, each returned as train/dev/test `Corpus` splits."""

from __future__ import annotations

import importlib.metadata
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tagger.data.readers import Corpus, conll_sentences, corpus_format, read_conll, read_corpus
from tagger.data.tags import span_parts

log = logging.getLogger(__name__)

# The synthetic set's default label distribution: the skew of the original question.
SYNTHETIC_PRIORS = (0.80, 0.08, 0.05, 0.03, 0.02, 0.015, 0.005)


@dataclass
class Splits:
    train: Corpus | None  # None when it is streamed (`TrainingStream`)
    dev: Corpus
    test: Corpus | None


@dataclass(frozen=True)
class TrainingStream:
    """A CoNLL training file read sentence by sentence each time it is iterated, as (tokens, tags,
    weight), long sentences split as `pieces` splits them: memory does not grow with the file
    (`data.streaming`). Only the first pass warns of skipped lines and split sentences."""

    path: Path
    max_len: int | None = None
    reader_options: dict = field(default_factory=dict)

    def __iter__(self):
        return self.sentences(warn=False)

    def sentences(self, *, warn: bool = True):
        return pieces(conll_sentences(self.path, warn=warn, **self.reader_options), self.max_len, warn=warn)


def split_long_sentences(corpus: Corpus, max_len: int | None, *, name: str = "train") -> Corpus:
    """`corpus` with every sentence longer than `max_len` tokens split into consecutive pieces of at
    most `max_len` tokens, each piece starting, where the sentence allows, at a token that does not
    continue a span (not at an `I-` or `E-` tag); one warning counts them. Nothing is dropped. A
    missing blank line between two documents makes one very long "sentence", and training on it
    whole costs memory in proportion to its length in every layer of its batch.

    >>> corpus = Corpus([list("abcdefg"), ["h"]], [["O", "B-X", "I-X", "O", "B-X", "I-X", "I-X"], ["O"]], [2.0, 1.0])
    >>> pieces = split_long_sentences(corpus, 3)
    >>> pieces.tags, pieces.weights
    ([['O', 'B-X', 'I-X'], ['O'], ['B-X', 'I-X', 'I-X'], ['O']], [2.0, 2.0, 2.0, 1.0])
    """
    split = pieces(zip(corpus.tokens, corpus.tags, corpus.weights), max_len, name=name)  # checks max_len
    if max_len is None or all(len(sentence) <= max_len for sentence in corpus.tokens):
        return corpus
    tokens, tags, weights = [], [], []
    for words, labels, weight in split:
        tokens.append(words), tags.append(labels), weights.append(weight)
    return Corpus(tokens, tags, weights)


def pieces(sentences, max_len: int | None, *, name: str = "train", warn: bool = True):
    """The (tokens, tags, weight) `sentences`, one at a time, each longer than `max_len` split as
    `split_long_sentences` splits it; at the end, with `warn`, one warning counts the sentences split."""
    if max_len is not None and max_len < 1:
        raise ValueError(f"data.max_len must be at least 1 token (or null: never split), got {max_len}")
    return _pieces(sentences, max_len, name, warn)


def _pieces(sentences, max_len: int | None, name: str, warn: bool):
    sentences_read = long_sentences = pieces_made = 0
    for words, labels, weight in sentences:
        starts = [0] if max_len is None else piece_starts(labels, max_len)
        sentences_read += 1
        long_sentences += len(starts) > 1
        pieces_made += len(starts)
        for start, end in zip(starts, [*starts[1:], len(words)]):
            yield words[start:end], labels[start:end], weight
    if long_sentences and warn:
        log.warning("%s: %d of %d sentences are longer than data.max_len=%d tokens and were split into pieces "
                    "(%d sentences now; no token dropped)", name, long_sentences, sentences_read, max_len,
                    pieces_made)


def piece_starts(tags: list[str], max_len: int) -> list[int]:
    """Where the pieces of a sentence with `tags` start when none may exceed `max_len` tokens: as
    late as possible, but not inside a span when a piece can end before it.

    >>> piece_starts(["O", "B-X", "I-X", "I-X", "O"], 2), piece_starts(["B-X"] + ["I-X"] * 4, 2)
    ([0, 1, 3], [0, 2, 4])
    """
    starts = [0]
    while len(tags) - starts[-1] > max_len:
        end = starts[-1] + max_len
        free = [j for j in range(end, starts[-1], -1) if span_parts(tags[j])[0] not in ("I", "E")]
        starts.append(free[0] if free else end)
    return starts


def split_by_order(corpus: Corpus, fractions=(0.8, 0.1, 0.1)) -> Splits:
    """Cut `corpus` into consecutive train/dev/test parts (no shuffling: the split is fixed)."""
    n = len(corpus)
    n_train = int(round(fractions[0] * n))
    n_dev = int(round(fractions[1] * n))
    return Splits(
        corpus.subset(range(n_train)),
        corpus.subset(range(n_train, n_train + n_dev)),
        corpus.subset(range(n_train + n_dev, n)),
    )


def hironsan_path() -> Path:
    """Where the installed `hironsancorpus` package keeps `iob_sents.txt`."""
    try:
        files = importlib.metadata.files("hironsancorpus") or []
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(
            "data=hironsan needs the package hironsancorpus: `pip install hironsancorpus`"
        ) from None
    for file in files:
        if file.name == "iob_sents.txt":
            return Path(file.locate())
    raise FileNotFoundError("the installed hironsancorpus package has no iob_sents.txt")


def load_hironsan() -> Splits:
    """The Japanese IOB2 NER corpus of `hironsancorpus` (MIT): 500 sentences, split 80/10/10 by order."""
    return split_by_order(read_conll(hironsan_path(), token_column=0, tag_column=-1, strict_columns=False))


def load_files(
    train: str | None, dev: str | None = None, test: str | None = None, *, format: str = "auto",
    dev_fraction: float = 0.1, split_seed: int = 0, **reader_options,
) -> Splits:
    """User files in any supported `format`. Without `dev`, a seeded `dev_fraction` of train is held out.

    `reader_options` go to the readers (see `read_corpus`).
    """
    if not train:
        raise ValueError("data=conll needs a training file: data.train=PATH")
    train_corpus = read_corpus(train, file_format=format, **reader_options)
    if dev:
        dev_corpus = read_corpus(dev, file_format=format, **reader_options)
    else:
        if not 0 < dev_fraction < 1:
            raise ValueError(f"dev_fraction must be between 0 and 1, got {dev_fraction}")
        order = np.random.default_rng(split_seed).permutation(len(train_corpus))
        n_dev = max(1, int(round(dev_fraction * len(train_corpus))))
        log.info("no dev file: holding out %d of %d training sentences (split_seed %d)",
                 n_dev, len(train_corpus), split_seed)
        dev_corpus = train_corpus.subset(sorted(order[:n_dev]))
        train_corpus = train_corpus.subset(sorted(order[n_dev:]))
    test_corpus = read_corpus(test, file_format=format, **reader_options) if test else None
    return Splits(train_corpus, dev_corpus, test_corpus)


def load_streaming(
    name: str, train: str | None, dev: str | None = None, test: str | None = None, *, format: str = "auto",
    max_len: int | None = None, token_column: int = 0, tag_column: int = -1, strict_columns: bool = True, **_,
) -> tuple[TrainingStream, Splits]:
    """User files with the training file streamed (`data.streaming`): the `TrainingStream` of `train`,
    and the splits with dev and test read (train None)."""
    if name != "conll" or not train:
        raise ValueError(f"data.streaming=true reads a training file, data=conll data.train=PATH; got data={name}"
                         f"{'' if name != 'conll' else ' without data.train'}")
    if corpus_format(train, format) != "conll":
        raise ValueError(f"data.streaming=true reads CoNLL column files, got a {corpus_format(train, format)} file "
                         f"{train}; convert it to CoNLL columns, or set data.streaming=false")
    if not dev:
        raise ValueError("data.streaming=true needs a dev file, data.dev=PATH: a streamed training file is not held "
                         "in memory, so no part of it can be held out")
    options = dict(token_column=token_column, tag_column=tag_column, strict_columns=strict_columns)
    held_out = [read_corpus(path, file_format=format, **options) if path else None for path in (dev, test)]
    return TrainingStream(Path(train), max_len, options), Splits(None, *held_out)


def _random_words(rng, count: int, *, min_len: int, max_len: int, suffix: str = "") -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = set()
    while len(words) < count:
        length = rng.integers(min_len, max_len - len(suffix) + 1)
        words.add("".join(rng.choice(letters, length)) + suffix)
    return sorted(words)


def generate_synthetic(
    num_sentences: int = 3000,
    *,
    max_sentence_length: int = 150,
    max_word_length: int = 15,
    class_priors=SYNTHETIC_PRIORS,
    seed: int = 0,
) -> Corpus:
    """Sentences whose labels depend on the word and on its left neighbour.

    Label `O` has a large lexicon. Every other label `T<c>` has a lexicon of its own (words end
    in a label-specific suffix, so characters help) and shares a pool of ambiguous words: an
    ambiguous word is `T<c>` when the word before it is the cue word of `T<c>`, and `O` otherwise.
    Lengths are uniform in [10, max_sentence_length]; the last sentence has the maximum length.
    """
    priors = np.asarray(class_priors, dtype=float)
    if priors.ndim != 1 or len(priors) < 2 or (priors < 0).any() or not np.isclose(priors.sum(), 1):
        raise ValueError(f"class_priors must be >= 2 non-negative numbers summing to 1, got {list(class_priors)}")
    if max_word_length < 5:
        raise ValueError(f"max_word_length must be at least 5, got {max_word_length}")
    # The lexicons are fixed (seed 0) so that the train, dev and test splits share them.
    lexicon_rng = np.random.default_rng(0)
    labels = ["O"] + [f"T{c}" for c in range(1, len(priors))]
    outside = _random_words(lexicon_rng, 400, min_len=2, max_len=max_word_length)
    own = [_random_words(lexicon_rng, 40, min_len=4, max_len=max_word_length, suffix=f"{chr(96 + c)}q")
           for c in range(1, len(priors))]
    ambiguous = _random_words(lexicon_rng, 20, min_len=3, max_len=8, suffix="zz")
    cues = [f"cue{c}" for c in range(1, len(priors))]
    outside_p = 1.0 / np.arange(1, len(outside) + 1)  # Zipf-like frequencies
    outside_p /= outside_p.sum()

    rng = np.random.default_rng(seed)
    tokens, tags = [], []
    for i in range(num_sentences):
        length = max_sentence_length if i == num_sentences - 1 else int(rng.integers(10, max_sentence_length + 1))
        classes = rng.choice(len(priors), size=length, p=priors)
        outside_draw = rng.choice(len(outside), size=length, p=outside_p)
        ambiguous_draw = rng.integers(len(ambiguous), size=length)
        own_draw = rng.integers(len(own[0]), size=length)
        coin = rng.random(length)
        words, sentence_tags = [], []
        for position, c in enumerate(classes):
            if c == 0:
                words.append(ambiguous[ambiguous_draw[position]] if coin[position] < 0.1 else outside[outside_draw[position]])
                sentence_tags.append("O")
            elif position and sentence_tags[-1] == "O" and coin[position] < 0.4:
                words[-1] = cues[c - 1]  # an O word becomes the cue that makes the next word T<c>
                words.append(ambiguous[ambiguous_draw[position]]), sentence_tags.append(labels[c])
            else:
                words.append(own[c - 1][own_draw[position]]), sentence_tags.append(labels[c])
        tokens.append(words), tags.append(sentence_tags)
    return Corpus(tokens, tags)


def load_synthetic(num_sentences: int = 3000, *, seed: int = 0, **options) -> Splits:
    """Synthetic train (`num_sentences`) with dev and test of a tenth of that size each."""
    held_out = max(1, num_sentences // 10)
    return Splits(
        generate_synthetic(num_sentences, seed=seed, **options),
        generate_synthetic(held_out, seed=seed + 1_000_001, **options),
        generate_synthetic(held_out, seed=seed + 2_000_003, **options),
    )


LOADERS = {"hironsan": load_hironsan, "conll": load_files, "synthetic": load_synthetic}


def load_splits(name: str, **options) -> Splits:
    """The data set `name` ("hironsan", "conll" for user files, "synthetic"), built with `options`."""
    if name not in LOADERS:
        raise ValueError(f"unknown data set {name!r}; expected one of {sorted(LOADERS)}")
    return LOADERS[name](**options)


def load_split(name: str, split: str, **options) -> Corpus:
    """One split of a data set: for user files (`conll`) only that split's file is read."""
    if split not in ("train", "dev", "test"):
        raise ValueError(f"split must be train, dev or test, got {split!r}")
    if name != "conll":
        corpus = getattr(load_splits(name, **options), split)
        if corpus is None:
            raise ValueError(f"data set {name!r} has no {split} split")
        return corpus
    if not options.get(split):
        raise ValueError(f"data=conll needs the file of the {split} split: data.{split}=PATH")
    return read_corpus(options[split], file_format=options.get("format", "auto"), **options)

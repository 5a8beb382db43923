"""Vocabularies of words, characters and labels, built from the training split only."""

from __future__ import annotations

import functools
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tagger.data.tags import iob2_name, label_set, to_iobes

PAD, UNK = 0, 1
_SPECIALS = ["<pad>", "<unk>"]
_DIGIT = re.compile(r"\d")


def normalize_word(word: str, *, lowercase: bool = False, digits_to_zero: bool = False) -> str:
    """The form of `word` that the word lookup uses (characters always keep the original).

    >>> normalize_word("Q3-2019", lowercase=True, digits_to_zero=True), normalize_word("Q3")
    ('q0-0000', 'Q3')
    """
    if lowercase:
        word = word.lower()
    return _DIGIT.sub("0", word) if digits_to_zero else word


def normalize_words_in_graph(words, *, lowercase: bool = False, digits_to_zero: bool = False):
    """`normalize_word` in TensorFlow ops, on a string tensor of words (for a graph that reads token
    strings: tagger.serving).

    The digits are exactly those `\\d` matches in this Python. Lowercasing is TensorFlow's (ICU's),
    which agrees with Python's `str.lower` on every code point but NUL and the letters that
    TensorFlow's Unicode tables lack (40 added in Unicode 14).
    """
    import tensorflow as tf

    words = tf.convert_to_tensor(words, tf.string)
    if lowercase:
        words = tf.strings.lower(words, encoding="utf-8")
    if digits_to_zero:
        words = tf.strings.regex_replace(words, digit_class(), "0")
    return words


@functools.cache
def digit_class() -> str:
    """An RE2 character class of the characters that `\\d` matches in this Python (its Unicode
    version's decimal digits; RE2's own `\\p{Nd}` may follow another version).

    >>> print(digit_class()[:29])
    [\\x{30}-\\x{39}\\x{660}-\\x{669}
    """
    ranges: list[list[int]] = []
    for code in range(sys.maxunicode + 1):
        if _DIGIT.match(chr(code)):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return "[" + "".join(f"\\x{{{first:x}}}-\\x{{{last:x}}}" for first, last in ranges) + "]"


@dataclass(frozen=True)
class Vocabulary:
    """An index <-> item table. Word and character tables reserve PAD=0 and UNK=1; label tables don't."""

    items: tuple[str, ...]
    has_specials: bool = True

    def __post_init__(self):
        object.__setattr__(self, "_index", {item: i for i, item in enumerate(self.items)})

    @classmethod
    def build(cls, sequences, *, min_freq: int = 1, has_specials: bool = True, extra=()) -> Vocabulary:
        """Count items over `sequences`; keep those seen `min_freq` times, most frequent first, then
        the `extra` items not already kept.

        >>> Vocabulary.build([["a", "b", "a"]], extra=["c", "a"]).items
        ('<pad>', '<unk>', 'a', 'b', 'c')
        """
        return cls.from_counts(Counter(item for sequence in sequences for item in sequence), min_freq=min_freq,
                               has_specials=has_specials, extra=extra)

    @classmethod
    def from_counts(cls, counts: Counter, *, min_freq: int = 1, has_specials: bool = True, extra=()) -> Vocabulary:
        """The items of `counts` seen `min_freq` times, most frequent first, then the `extra` items not already kept."""
        kept = sorted((item for item, n in counts.items() if n >= min_freq), key=lambda s: (-counts[s], s))
        kept += [item for item in dict.fromkeys(extra) if item not in set(kept)]
        return cls(tuple(_SPECIALS + kept if has_specials else kept), has_specials)

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, item: str) -> bool:
        return item in self._index

    def index(self, item: str) -> int:
        """The id of `item`; UNK for an unknown item in a table with specials, KeyError otherwise."""
        if self.has_specials:
            return self._index.get(item, UNK)
        return self._index[item]


@dataclass
class TrainingCounts:
    """What one pass over the training sentences counts: the words (normalised for the lookup), the
    characters, the labels (multi-label: each label of a token's set), sentences and tokens. The
    vocabularies and the class weights are made from these, so a corpus read in one pass, never held
    whole (`data.streaming`), gets the same ones as a corpus in memory. With `iobes`, the labels counted
    are the IOBES tags of IOB2 span tags (`tags.to_iobes`), the labels the model is trained on."""

    lowercase: bool = False
    digits_to_zero: bool = False
    multi_label: bool = False
    iobes: bool = False
    words: Counter = field(default_factory=Counter)
    chars: Counter = field(default_factory=Counter)
    labels: Counter = field(default_factory=Counter)
    sentences: int = 0
    tokens: int = 0

    @classmethod
    def of(cls, sentences, *, lowercase: bool = False, digits_to_zero: bool = False,
           multi_label: bool = False, iobes: bool = False) -> TrainingCounts:
        """Counts of `sentences`, each (tokens, tags) or (tokens, tags, weight), read once in order.

        >>> counts = TrainingCounts.of([(["Ab", "7"], ["B-X", "O"])], lowercase=True, digits_to_zero=True)
        >>> dict(counts.words), counts.chars["A"], dict(counts.labels), counts.tokens
        ({'ab': 1, '0': 1}, 1, {'B-X': 1, 'O': 1}, 2)
        >>> dict(TrainingCounts.of([(["a", "b"], ["B-X", "O"])], iobes=True).labels)
        {'S-X': 1, 'O': 1}
        """
        counts = cls(lowercase, digits_to_zero, multi_label, iobes)
        for words, tags, *_ in sentences:
            tags = to_iobes(tags) if iobes else tags
            counts.words.update(normalize_word(w, lowercase=lowercase, digits_to_zero=digits_to_zero) for w in words)
            counts.chars.update(c for word in words for c in word)
            counts.labels.update((label for tag in tags for label in label_set(tag)) if multi_label else tags)
            counts.sentences += 1
            counts.tokens += len(words)
        return counts

    def label_counts(self, labels) -> list[int]:
        """Training tokens of each of `labels` (multi-label: tokens whose set holds it)."""
        return [self.labels[label] for label in labels]


@dataclass(frozen=True)
class Vocabularies:
    """Everything needed to turn tokens into model inputs and model outputs into tags."""

    words: Vocabulary
    chars: Vocabulary
    labels: Vocabulary
    lowercase: bool = False  # the word lookup lowercases (characters keep their case)
    multi_label: bool = False  # tags are label sets (`A|B`, `O` for none); `labels` holds single labels
    digits_to_zero: bool = False  # the word lookup reads every digit as 0 (characters keep them)
    iobes: bool = False  # IOB2 span tags are encoded as IOBES `labels`, and IOBES outputs written as IOB2 tags

    @classmethod
    def build(cls, tokens, tags, *, min_freq: int = 1, lowercase: bool = False, extra_words=(),
              multi_label: bool = False, digits_to_zero: bool = False, iobes: bool = False) -> Vocabularies:
        """Tables for a training split (`tokens` and `tags`, one list per sentence), as `from_counts` makes them.

        >>> vocab = Vocabularies.build([["a", "b", "c"]], [["B-X", "I-X", "B-X"]], iobes=True)
        >>> vocab.labels.items, vocab.tag_names, vocab.model_tags(["B-X", "O"])
        (('B-X', 'E-X', 'S-X'), ('B-X', 'I-X', 'B-X'), ['S-X', 'O'])
        """
        counts = TrainingCounts.of(zip(tokens, tags), lowercase=lowercase, digits_to_zero=digits_to_zero,
                                   multi_label=multi_label, iobes=iobes)
        return cls.from_counts(counts, min_freq=min_freq, extra_words=extra_words)

    @classmethod
    def from_counts(cls, counts: TrainingCounts, *, min_freq: int = 1, extra_words=()) -> Vocabularies:
        """Tables for the training split that `counts` counted, plus `extra_words` (e.g. dev/test words
        with pretrained vectors). Words are normalised for the lookup as the counts were; characters
        come from the original tokens; labels are those counted."""
        def normal(word):
            return normalize_word(word, lowercase=counts.lowercase, digits_to_zero=counts.digits_to_zero)

        return cls(Vocabulary.from_counts(counts.words, min_freq=min_freq, extra=(normal(w) for w in extra_words)),
                   Vocabulary.from_counts(counts.chars), Vocabulary.from_counts(counts.labels, has_specials=False),
                   counts.lowercase, counts.multi_label, counts.digits_to_zero, counts.iobes)

    @property
    def tag_names(self) -> tuple[str, ...]:
        """The tag that each label id is written as: the label itself, or, for `iobes` labels, its IOB2
        tag (`S-X` -> `B-X`, `E-X` -> `I-X`), so predictions come out in the data's own scheme."""
        return tuple(iob2_name(label) for label in self.labels.items) if self.iobes else self.labels.items

    def model_tags(self, tags: list[str]) -> list[str]:
        """One sentence's tags as the model's labels: their IOBES tags for `iobes` labels, else as they are."""
        return to_iobes(tags) if self.iobes else tags

    def word_id(self, word: str) -> int:
        return self.words.index(normalize_word(word, lowercase=self.lowercase, digits_to_zero=self.digits_to_zero))

    def to_json(self) -> dict:
        return {
            "lowercase": self.lowercase,
            "words": list(self.words.items),
            "chars": list(self.chars.items),
            "labels": list(self.labels.items),
            "multi_label": self.multi_label,
            "digits_to_zero": self.digits_to_zero,
            "iobes": self.iobes,
        }

    @classmethod
    def from_json(cls, data: dict) -> Vocabularies:
        return cls(
            Vocabulary(tuple(data["words"])),
            Vocabulary(tuple(data["chars"])),
            Vocabulary(tuple(data["labels"]), has_specials=False),
            bool(data["lowercase"]),
            bool(data.get("multi_label", False)),
            bool(data.get("digits_to_zero", False)),
            bool(data.get("iobes", False)),
        )

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocabularies:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))

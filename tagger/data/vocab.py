"""Vocabularies of words, characters and labels, built from the training split only."""

from __future__ import annotations

import functools
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tagger.data.tags import label_set

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
    strings: tagger.export).

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
        counts = Counter(item for sequence in sequences for item in sequence)
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


@dataclass(frozen=True)
class Vocabularies:
    """Everything needed to turn tokens into model inputs and model outputs into tags."""

    words: Vocabulary
    chars: Vocabulary
    labels: Vocabulary
    lowercase: bool = False  # the word lookup lowercases (characters keep their case)
    multi_label: bool = False  # tags are label sets (`A|B`, `O` for none); `labels` holds single labels
    digits_to_zero: bool = False  # the word lookup reads every digit as 0 (characters keep them)

    @classmethod
    def build(cls, tokens, tags, *, min_freq: int = 1, lowercase: bool = False, extra_words=(),
              multi_label: bool = False, digits_to_zero: bool = False) -> Vocabularies:
        """Tables for a training split, plus `extra_words` (e.g. dev/test words with pretrained
        vectors). Words are normalised for the lookup as `lowercase` and `digits_to_zero` say;
        characters come from the original tokens; labels are never changed."""
        def normal(word):
            return normalize_word(word, lowercase=lowercase, digits_to_zero=digits_to_zero)

        words = Vocabulary.build(([normal(w) for w in s] for s in tokens), min_freq=min_freq,
                                 extra=(normal(w) for w in extra_words))
        chars = Vocabulary.build(word for s in tokens for word in s)
        if multi_label:
            tags = ([label for tag in sentence for label in label_set(tag)] for sentence in tags)
        labels = Vocabulary.build(tags, has_specials=False)
        return cls(words, chars, labels, lowercase, multi_label, digits_to_zero)

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
        )

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocabularies:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))

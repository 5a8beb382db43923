"""Pretrained word vectors (GloVe or word2vec text, word2vec binary) for the word embedding layer."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from tagger.data.vocab import PAD

log = logging.getLogger(__name__)


def read_vectors(path: str | Path, wanted: set[str] | None = None) -> dict[str, np.ndarray]:
    """word -> vector for the words of `wanted` (all words when None) in a GloVe or word2vec file.

    Text files hold `word v1 v2 ...` per line, word2vec's with a `count dim` first line; a file
    ending in `.bin` is word2vec's binary format. Every vector must have the same dimension.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such embeddings file")
    reader = _read_binary if path.suffix == ".bin" else _read_text
    vectors = {word: vector for word, vector in reader(path) if wanted is None or word in wanted}
    if not vectors:
        raise ValueError(f"{path}: no vectors for any of the {len(wanted or ())} words looked up")
    return vectors


def _read_text(path: Path):
    dim = None
    with path.open(encoding="utf-8", errors="strict") as lines:
        for number, line in enumerate(lines, start=1):
            parts = line.rstrip("\n").rstrip(" ").split(" ")
            if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                dim = int(parts[1])  # word2vec text header: count, dim
                continue
            if len(parts) < 2:
                continue
            dim = dim or len(parts) - 1
            if len(parts) - 1 != dim:
                raise ValueError(f"{path}:{number}: expected a word and {dim} numbers, found {len(parts) - 1} numbers")
            try:
                yield parts[0], np.asarray(parts[1:], dtype=np.float32)
            except ValueError:
                raise ValueError(f"{path}:{number}: a vector value is not a number") from None


def _read_binary(path: Path):
    with path.open("rb") as stream:
        header = stream.readline().split()
        if len(header) != 2:
            raise ValueError(f"{path}:1: expected a word2vec binary header `count dim`")
        count, dim = int(header[0]), int(header[1])
        for index in range(count):
            word = bytearray()
            while (char := stream.read(1)) not in (b" ", b""):
                if char != b"\n":
                    word += char
            data = stream.read(4 * dim)
            if len(data) < 4 * dim:
                raise ValueError(f"{path}: ends inside vector {index + 1} of {count}")
            yield word.decode("utf-8", errors="replace"), np.frombuffer(data, dtype=np.float32).copy()


def pretrained_vectors(path: str | Path | None, corpora) -> dict[str, np.ndarray] | None:
    """The vectors of the file `path` for the words of `corpora` (each a `Corpus` or None) and their
    lowercase forms; None without a path."""
    if not path:
        return None
    words = {w for corpus in corpora if corpus for s in corpus.tokens for w in s}
    return read_vectors(path, words | {w.lower() for w in words})


def words_with_vectors(corpora, vectors: dict[str, np.ndarray] | None) -> list[str]:
    """The tokens of `corpora` (each a `Corpus` or None) that have a vector, in order: held-out words
    to add to the vocabulary, so that those with a pretrained vector are not unknown words."""
    if not vectors:
        return []
    return [w for corpus in corpora if corpus for s in corpus.tokens for w in s if lookup(vectors, w) is not None]


def lookup(vectors: dict[str, np.ndarray], word: str) -> np.ndarray | None:
    """The vector of `word`, or of its lowercase form."""
    vector = vectors.get(word)
    return vectors.get(word.lower()) if vector is None else vector


def coverage(sentences, vectors: dict[str, np.ndarray]) -> float:
    """Share of tokens with a vector (lowercase fallback included).

    >>> coverage([["The", "cat"], ["sat"]], {"the": np.zeros(2), "sat": np.zeros(2)})
    0.6666666666666666
    """
    tokens = [word for sentence in sentences for word in sentence]
    return sum(lookup(vectors, word) is not None for word in tokens) / max(len(tokens), 1)


def embedding_matrix(words, vectors: dict[str, np.ndarray], *, seed: int = 0) -> np.ndarray:
    """(len(words), dim) initial embeddings: the pretrained vector where there is one, random vectors of
    the same scale elsewhere, zeros for padding."""
    dim = len(next(iter(vectors.values())))
    scale = float(np.std(np.stack(list(vectors.values()))))
    matrix = np.random.default_rng(seed).normal(0.0, scale, size=(len(words), dim)).astype(np.float32)
    for i, word in enumerate(words):
        vector = lookup(vectors, word)
        if vector is not None:
            matrix[i] = vector
    matrix[PAD] = 0.0
    return matrix

"""The data stage of a training run: the splits read (or the training file streamed, `data.streaming`),
one counting pass over the training sentences, the vocabularies and pretrained vectors made from it,
and the training split encoded in memory or into shards on disk."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tagger.data.datasets import Splits, TrainingStream, load_splits, load_streaming, split_long_sentences
from tagger.data.encode import Encoded, encode
from tagger.data.shards import Shards, write_shards
from tagger.data.vocab import TrainingCounts, Vocabularies
from tagger.embeddings import pretrained_vectors, words_with_vectors


@dataclass
class TrainingData:
    """A run's data before encoding: the splits (train None when streamed), the training stream, the
    training counts, the vocabularies and the pretrained vectors."""

    splits: Splits
    stream: TrainingStream | None
    counts: TrainingCounts
    vocab: Vocabularies
    vectors: dict[str, np.ndarray] | None = None

    def train_tags(self):
        """The training tag sequences (read again from the file when streamed)."""
        return self.splits.train.tags if self.stream is None else (tags for _, tags, _ in self.stream)

    def encoded_train(self, *, max_chars: int | None, shards_dir: Path, shard_sentences: int) -> Encoded | Shards:
        """The training split encoded: in memory, or, streamed, into shards in `shards_dir`."""
        if self.stream is None:
            return encode(self.splits.train, self.vocab, max_chars=max_chars, name="train")
        return write_shards(self.stream, self.vocab, shards_dir, max_chars=max_chars, shard_sentences=shard_sentences)


def read_training_data(loader: dict, *, streaming: bool = False, max_len: int | None = None, min_freq: int = 1,
                       lowercase: bool = False, digits_to_zero: bool = False, multi_label: bool = False,
                       pretrained_embeddings: str | None = None) -> TrainingData:
    """Read the data set that `loader` (`load_splits`' options) names, training sentences longer than
    `max_len` split; with `streaming`, stream its training file instead of holding it. The vocabularies
    come from one counting pass over the training sentences, plus the held-out words with a vector in
    `pretrained_embeddings`."""
    if streaming:
        if pretrained_embeddings:
            raise ValueError("data.streaming=true does not read pretrained embeddings yet: unset "
                             "model.pretrained_embeddings, or set data.streaming=false")
        stream, splits = load_streaming(**loader, max_len=max_len)
        sentences = stream.sentences()
    else:
        stream, splits = None, load_splits(**loader)
        splits = replace(splits, train=split_long_sentences(splits.train, max_len))
        sentences = zip(splits.train.tokens, splits.train.tags)
    vectors = pretrained_vectors(pretrained_embeddings, [splits.train, splits.dev, splits.test])
    extra_words = words_with_vectors([splits.dev, splits.test], vectors)  # held-out words with a pretrained vector
    counts = TrainingCounts.of(sentences, lowercase=lowercase, digits_to_zero=digits_to_zero, multi_label=multi_label)
    return TrainingData(splits, stream, counts, Vocabularies.from_counts(counts, min_freq=min_freq,
                                                                         extra_words=extra_words), vectors)

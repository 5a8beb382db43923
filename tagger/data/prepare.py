"""The data stage of a training run: the splits read (or the training file streamed, `data.streaming`),
the labels the model trains on (the tags as read, or their IOBES tags: `data.tag_scheme`), one
counting pass over the training sentences, the vocabularies and pretrained vectors made from it, and
the training split encoded in memory or into shards on disk."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tagger.data.datasets import Splits, TrainingStream, load_splits, load_streaming, split_long_sentences
from tagger.data.encode import Encoded, encode
from tagger.data.shards import Shards, write_shards
from tagger.data.tags import iob2_breaks
from tagger.data.vocab import TrainingCounts, Vocabularies
from tagger.embeddings import pretrained_vectors, words_with_vectors
from tagger.options import choose_tag_scheme

log = logging.getLogger(__name__)


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
        """The training tag sequences as the model's labels (read again from the file when streamed)."""
        tags = self.splits.train.tags if self.stream is None else (tags for _, tags, _ in self.stream)
        return (self.vocab.model_tags(sentence) for sentence in tags)

    def encoded_train(self, *, max_chars: int | None, shards_dir: Path, shard_sentences: int) -> Encoded | Shards:
        """The training split encoded: in memory, or, streamed, into shards in `shards_dir`."""
        if self.stream is None:
            return encode(self.splits.train, self.vocab, max_chars=max_chars, name="train")
        return write_shards(self.stream, self.vocab, shards_dir, max_chars=max_chars, shard_sentences=shard_sentences)


def read_training_data(loader: dict, *, streaming: bool = False, max_len: int | None = None, min_freq: int = 1,
                       lowercase: bool = False, digits_to_zero: bool = False, multi_label: bool = False,
                       tag_scheme: str = "as_read", pretrained_embeddings: str | None = None) -> TrainingData:
    """Read the data set that `loader` (`load_splits`' options) names, training sentences longer than
    `max_len` split; with `streaming`, stream its training file instead of holding it. The vocabularies
    come from one counting pass over the training sentences, plus the held-out words with a vector in
    `pretrained_embeddings`; their labels are the training tags as read or, as `tag_scheme` decides
    (`options.choose_tag_scheme`, from one more pass over a streamed file), their IOBES tags."""
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
    iobes = train_as_iobes(splits.train.tags if stream is None else (tags for _, tags, _ in stream), tag_scheme,
                           multi_label=multi_label)
    counts = TrainingCounts.of(sentences, lowercase=lowercase, digits_to_zero=digits_to_zero, multi_label=multi_label,
                               iobes=iobes)
    return TrainingData(splits, stream, counts, Vocabularies.from_counts(counts, min_freq=min_freq,
                                                                         extra_words=extra_words), vectors)


def train_as_iobes(train_tags, tag_scheme: str, *, multi_label: bool = False) -> bool:
    """`options.choose_tag_scheme` for the training tag sequences `train_tags` (read only when it matters),
    its reason logged."""
    labels, breaks = set(), 0
    if tag_scheme != "as_read" and not multi_label:
        for tags in train_tags:
            labels.update(tags)
            breaks += iob2_breaks(tags)
    iobes, why = choose_tag_scheme(tag_scheme, sorted(labels), iob2_breaks=breaks, multi_label=multi_label)
    if why:
        log.info("training labels: %s", why)
    return iobes

"""Training corpora larger than memory (`data.streaming=true`): the training sentences encoded once,
shard by shard, into .npz files in the run directory, and a tf.data pipeline that reads one shard at a
time, shuffles and buckets by length within it, and pads each batch as `encode.pad_rows` pads it.
Memory holds one shard (and the next, being prefetched), whatever the corpus size."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np

from tagger.data.encode import BatchPlan, Encoded, WordNoise, encode, pad_rows, with_word_noise
from tagger.data.readers import Corpus
from tagger.data.vocab import Vocabularies
from tagger.reports import atomic_path, write_atomically

log = logging.getLogger(__name__)

SHARDS = "shards"  # the run directory's encoded training data, while a streaming run trains
INDEX = "index.json"  # written last: a shard directory without it is incomplete
_ARRAYS = ("word_ids", "char_ids", "labels", "token_splits", "char_splits", "sentence_weights")


@dataclass(frozen=True)
class Shards:
    """An encoded training corpus on disk, in shard files of at most a fixed number of sentences."""

    directory: Path
    sizes: tuple[int, ...]  # sentences per shard
    num_tokens: int
    token_counts: np.ndarray  # (vocabulary size,) training tokens of each word id

    def load(self, number: int) -> Encoded:
        with np.load(self.directory / f"shard-{number:05d}.npz") as saved:
            return Encoded(*(saved[name] for name in _ARRAYS))

    def word_counts(self, vocabulary_size: int) -> np.ndarray:
        """Tokens of each word id, (vocabulary_size,), as `Encoded.word_counts` counts them."""
        return self.token_counts[:vocabulary_size]


def write_shards(sentences, vocab: Vocabularies, directory: str | Path, *, max_chars: int | None,
                 shard_sentences: int) -> Shards:
    """Encode the (tokens, tags, weight) `sentences`, read once in order, into shards of `shard_sentences`
    sentences in `directory` (emptied first); each file is written whole or not at all, the index last."""
    if shard_sentences < 1:
        raise ValueError(f"data.shard_sentences must be at least 1, got {shard_sentences}")
    directory = Path(directory)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    sentences, sizes, tokens = iter(sentences), [], 0
    token_counts = np.zeros(len(vocab.words), np.int64)
    while window := list(islice(sentences, shard_sentences)):
        words, tags, weights = (list(column) for column in zip(*window))
        data = encode(Corpus(words, tags, weights), vocab, max_chars=max_chars, name=f"train shard {len(sizes)}")
        with atomic_path(directory / f"shard-{len(sizes):05d}.npz") as temporary:
            with open(temporary, "wb") as file:
                np.savez(file, **{name: getattr(data, name) for name in _ARRAYS})
        sizes.append(len(data))
        tokens += data.num_tokens
        token_counts += data.word_counts(len(vocab.words))
    if not sizes:
        raise ValueError("the training file has no sentences")
    write_atomically(directory / INDEX, json.dumps({"sizes": sizes, "tokens": tokens}))
    log.info("training data: %d sentences, %d tokens, encoded into %d shards of up to %d sentences in %s",
             sum(sizes), tokens, len(sizes), shard_sentences, directory)
    return Shards(directory, tuple(sizes), tokens, token_counts)


def shard_seed(seed: int, shard: int) -> int:
    """The seed of the batch order within `shard`: the run's `seed` for shard 0, so that a corpus in one
    shard is batched exactly as in memory (`BatchPlan` with `seed`).

    >>> shard_seed(7, 0), shard_seed(7, 2)
    (7, 2000013)
    """
    return seed + shard * 1_000_003


class ShardPlan:
    """Batches of sharded training data, epoch by epoch; each epoch's order depends on (seed, epoch) alone.

    An epoch visits the shards in an order drawn from (seed, epoch) and, within each, the batches that
    `BatchPlan` makes of its sentences (shuffled, bucketed by length with `bucketing`): shuffling and
    bucketing act within one shard, a bounded window. Like `BatchPlan`, no state carries over from one
    epoch to the next, so a resumed run sees the batches an uninterrupted one would.
    """

    def __init__(self, shards: Shards, batch_size: int, *, seed: int = 0, bucketing: bool = True):
        self.shards, self.batch_size, self.seed, self.bucketing = shards, batch_size, seed, bucketing
        self.next_epoch = 0

    def __len__(self) -> int:
        return sum(-(-size // self.batch_size) for size in self.shards.sizes)

    def seeded(self, sample_weights):
        """Each batch of epoch `next_epoch` (which it advances) as the arrays of an `Encoded` of its own
        sentences with their flat per-token weights (`sample_weights` of an `Encoded`), and its random
        seed, numbered through the epoch as `BatchPlan.seeded` numbers it."""
        epoch, self.next_epoch = self.next_epoch, self.next_epoch + 1
        number = 0
        for shard in np.random.default_rng([self.seed, epoch]).permutation(len(self.shards.sizes)):
            data = self.shards.load(int(shard))
            plan = BatchPlan(data.lengths, self.batch_size, seed=shard_seed(self.seed, int(shard)),
                             bucketing=self.bucketing)
            for index in plan.batches(epoch):
                batch = data.subset(index)
                yield ((batch.word_ids, batch.char_ids, batch.labels, batch.token_splits.astype(np.int64),
                        batch.char_splits.astype(np.int64), sample_weights(batch)),
                       np.array([self.seed, (epoch << 20) + number], np.int64))
                number += 1


def shard_dataset(plan: ShardPlan, sample_weights, *, multi_label_count: int | None = None,
                  noise: WordNoise | None = None):
    """The tf.data pipeline of `({"words", "chars"}, labels, sample_weights)` training batches of `plan`:
    `make_dataset`'s, read one shard at a time. `sample_weights` maps an `Encoded` shard to its flat
    per-token weights; `multi_label_count`: the number of labels of multi-hot labels (None: label ids)."""
    import tensorflow as tf

    labels = (tf.TensorSpec([None], tf.int32) if multi_label_count is None
              else tf.TensorSpec([None, multi_label_count], tf.float32))
    signature = ((tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.int32), labels,
                  tf.TensorSpec([None], tf.int64), tf.TensorSpec([None], tf.int64), tf.TensorSpec([None], tf.float32)),
                 tf.TensorSpec([2], tf.int64))
    batches = tf.data.Dataset.from_generator(lambda: plan.seeded(sample_weights), output_signature=signature).apply(
        tf.data.experimental.assert_cardinality(len(plan)))

    def pad(arrays, seed):
        sentences = tf.range(tf.size(arrays[3], out_type=tf.int64) - 1)
        features, batch_labels, weights = pad_rows(*arrays, sentences)
        return with_word_noise(features, seed, noise), batch_labels, weights

    return batches.map(pad, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

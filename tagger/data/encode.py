"""Corpus -> id arrays, and id arrays -> a length-bucketed tf.data pipeline of (x, y, sample_weight)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from tagger.data.readers import Corpus
from tagger.data.vocab import Vocabularies

log = logging.getLogger(__name__)

PAD_LABEL = -1  # label id on padding (and on gold labels the model cannot know); weight 0 there


@dataclass
class Encoded:
    """A corpus as arrays padded to its longest (kept) sentence and word."""

    words: np.ndarray  # (samples, seq_len) int32, 0 on padding
    chars: np.ndarray  # (samples, seq_len, max_chars) int32, 0 on padding
    labels: np.ndarray  # (samples, seq_len) int32, PAD_LABEL on padding
    lengths: np.ndarray  # (samples,) int32: tokens kept per sentence
    sentence_weights: np.ndarray  # (samples,) float32

    @property
    def mask(self) -> np.ndarray:
        """(samples, seq_len) bool: True on real tokens."""
        return np.arange(self.words.shape[1])[None, :] < self.lengths[:, None]


def encode(corpus: Corpus, vocab: Vocabularies, *, max_len: int | None = None, max_chars: int | None = None,
           name: str = "corpus") -> Encoded:
    """Turn `corpus` into id arrays.

    Sentences longer than `max_len` tokens and words longer than `max_chars` characters are cut,
    with one warning that counts them. Gold labels missing from `vocab` get `PAD_LABEL` (no loss,
    no weight) and one warning with their counts.
    """
    lengths = np.array([len(s) for s in corpus.tokens], dtype=np.int32)
    seq_len = int(lengths.max(initial=1)) if max_len is None else min(max_len, int(lengths.max(initial=1)))
    word_lengths = [len(w) for s in corpus.tokens for w in s[:seq_len]]
    longest_word = max(word_lengths, default=1)
    char_len = longest_word if max_chars is None else min(max_chars, longest_word)

    long_sentences = lengths > seq_len
    if long_sentences.any():
        log.warning("%s: %d of %d sentences are longer than max_len=%d; %d tokens cut",
                    name, long_sentences.sum(), len(lengths), seq_len, (lengths - seq_len)[long_sentences].sum())
    long_words = sum(length > char_len for length in word_lengths)
    if long_words:
        log.warning("%s: %d of %d words are longer than max_chars=%d and were cut",
                    name, long_words, len(word_lengths), char_len)

    n = len(corpus)
    words = np.zeros((n, seq_len), np.int32)
    chars = np.zeros((n, seq_len, char_len), np.int32)
    labels = np.full((n, seq_len), PAD_LABEL, np.int32)
    unknown_labels: dict[str, int] = {}
    for i, (sentence, tags) in enumerate(zip(corpus.tokens, corpus.tags)):
        for j, (word, tag) in enumerate(zip(sentence[:seq_len], tags[:seq_len])):
            words[i, j] = vocab.word_id(word)
            chars[i, j, : min(len(word), char_len)] = [vocab.chars.index(c) for c in word[:char_len]]
            if tag in vocab.labels:
                labels[i, j] = vocab.labels.index(tag)
            else:
                unknown_labels[tag] = unknown_labels.get(tag, 0) + 1
    if unknown_labels:
        log.warning("%s: labels absent from training can never be predicted (tokens: %s)", name, unknown_labels)
    return Encoded(words, chars, labels, np.minimum(lengths, seq_len),
                   np.asarray(corpus.weights, dtype=np.float32))


def _trim(features, *rest):
    """Cut one padded sentence to its own length and its own longest word."""
    import tensorflow as tf

    length = features.pop("length")
    chars = features["chars"][:length]
    word_len = tf.reduce_max(tf.math.count_nonzero(chars, axis=-1, dtype=tf.int32))
    trimmed = {"words": features["words"][:length], "chars": chars[:, : tf.maximum(word_len, 1)]}
    return (trimmed, *(r[:length] for r in rest)) if rest else trimmed


def bucket_boundaries(lengths: np.ndarray, num_buckets: int = 8) -> list[int]:
    """Sentence-length boundaries that put about as many sentences in each bucket.

    >>> bucket_boundaries(np.arange(1, 101), num_buckets=4)
    [27, 52, 77]
    """
    quantiles = np.quantile(lengths, np.linspace(0, 1, num_buckets + 1)[1:-1], method="higher")
    return sorted({int(q) + 1 for q in quantiles})


def make_dataset(data: Encoded, sample_weights: np.ndarray | None = None, *, batch_size: int,
                 shuffle: bool = False, seed: int = 0, bucketing: bool = True, order=None):
    """A tf.data pipeline of `({"words", "chars"}, labels, sample_weights)` batches.

    Each batch is padded to its own longest sentence and word. With `bucketing`, shuffled
    sentences are grouped with others of similar length first. Without `sample_weights` the
    elements are features only (for prediction); `order` picks and orders the sentences.
    """
    import tensorflow as tf

    index = np.arange(len(data.lengths)) if order is None else np.asarray(order)
    features = {"words": data.words[index], "chars": data.chars[index], "length": data.lengths[index]}
    elements = features if sample_weights is None else (features, data.labels[index], sample_weights[index].astype(np.float32))
    dataset = tf.data.Dataset.from_tensor_slices(elements)
    if shuffle:
        dataset = dataset.shuffle(len(index), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.map(_trim, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    padding = {"words": 0, "chars": 0}
    if sample_weights is not None:
        padding = (padding, PAD_LABEL, 0.0)
    if bucketing and shuffle:
        boundaries = bucket_boundaries(data.lengths[index])
        dataset = dataset.bucket_by_sequence_length(
            lambda x, *_: tf.shape(x["words"])[0], boundaries, [batch_size] * (len(boundaries) + 1),
            padding_values=padding,
        )
    else:
        dataset = dataset.padded_batch(batch_size, padding_values=padding)
    return dataset.prefetch(tf.data.AUTOTUNE)

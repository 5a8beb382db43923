"""Corpus -> id arrays, and id arrays -> a length-bucketed tf.data pipeline of (x, y, sample_weight)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from tagger.data.readers import Corpus
from tagger.data.tags import label_set
from tagger.data.vocab import UNK, Vocabularies

log = logging.getLogger(__name__)

PAD_LABEL = -1  # label id on padding (and on gold labels the model cannot know); weight 0 there


@dataclass
class Encoded:
    """A corpus as arrays padded to its longest (kept) sentence and word."""

    words: np.ndarray  # (samples, seq_len) int32, 0 on padding
    chars: np.ndarray  # (samples, seq_len, max_chars) int32, 0 on padding
    labels: np.ndarray  # (samples, seq_len) int32, PAD_LABEL on padding; multi-label: (samples, seq_len, labels)
    # float32 multi-hot, PAD_LABEL on padding
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
    if vocab.multi_label:
        labels = np.full((n, seq_len, len(vocab.labels)), PAD_LABEL, np.float32)
    else:
        labels = np.full((n, seq_len), PAD_LABEL, np.int32)
    unknown_labels: dict[str, int] = {}
    for i, (sentence, tags) in enumerate(zip(corpus.tokens, corpus.tags)):
        for j, (word, tag) in enumerate(zip(sentence[:seq_len], tags[:seq_len])):
            words[i, j] = vocab.word_id(word)
            chars[i, j, : min(len(word), char_len)] = [vocab.chars.index(c) for c in word[:char_len]]
            if vocab.multi_label:
                labels[i, j] = 0.0
                for label in label_set(tag):
                    if label in vocab.labels:
                        labels[i, j, vocab.labels.index(label)] = 1.0
                    else:
                        unknown_labels[label] = unknown_labels.get(label, 0) + 1
            elif tag in vocab.labels:
                labels[i, j] = vocab.labels.index(tag)
            else:
                unknown_labels[tag] = unknown_labels.get(tag, 0) + 1
    if unknown_labels:
        log.warning("%s: labels absent from training can never be predicted (tokens: %s)", name, unknown_labels)
    return Encoded(words, chars, labels, np.minimum(lengths, seq_len),
                   np.asarray(corpus.weights, dtype=np.float32))


class BatchPlan:
    """Batches of sentence indices, epoch by epoch; each epoch's order depends on (seed, epoch) alone.

    With `bucketing`, the shuffled sentences are sorted by length within chunks of 50 batches, cut
    into batches and the batches shuffled: each batch holds sentences of similar length. Because
    no state carries over from one epoch to the next, a run resumed at epoch k sees the same
    batches as a run that never stopped. Called as a generator (by tf.data, once per epoch), it
    yields the batches of epoch `next_epoch` and advances it.
    """

    def __init__(self, lengths: np.ndarray, batch_size: int, *, seed: int = 0, bucketing: bool = True):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.lengths, self.batch_size, self.seed, self.bucketing = np.asarray(lengths), batch_size, seed, bucketing
        self.next_epoch = 0

    def batches(self, epoch: int) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.lengths))
        if self.bucketing:
            chunk = 50 * self.batch_size
            order = np.concatenate([part[np.argsort(self.lengths[part], kind="stable")]
                                    for part in np.split(order, range(chunk, len(order), chunk))])
        batches = np.split(order, range(self.batch_size, len(order), self.batch_size))
        return [batches[i] for i in rng.permutation(len(batches))] if self.bucketing else batches

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)

    def __call__(self):
        epoch, self.next_epoch = self.next_epoch, self.next_epoch + 1
        yield from self.batches(epoch)

    def seeded(self):
        """Like calling the plan, with each batch's random seed: (seed, epoch x 2^20 + batch number),
        so that random choices made per batch depend on (seed, epoch) alone, as the order does."""
        epoch = self.next_epoch
        for number, batch in enumerate(self()):
            yield batch, np.array([self.seed, (epoch << 20) + number], np.int64)


@dataclass(frozen=True)
class WordNoise:
    """Unknown-word training: while training, a word id is read as UNK with probability
    `singleton_unk` if its word occurred once in training (Lample et al. 2016), and with probability
    `word_dropout` whatever it is; its characters stay, so the model learns to tag a word it has
    no vector for from its spelling and context, as it must for unseen words at test time."""

    singletons: np.ndarray  # (vocabulary size,) bool: the word ids seen once in training
    singleton_unk: float = 0.0
    word_dropout: float = 0.0

    @classmethod
    def from_training(cls, data: Encoded, vocabulary_size: int, *, singleton_unk: float = 0.0,
                      word_dropout: float = 0.0) -> WordNoise | None:
        """The noise for training on `data`, or None when both probabilities are 0.

        >>> data = Encoded(np.array([[2, 3, 2, 0]]), None, None, np.array([3]), None)
        >>> WordNoise.from_training(data, 5, singleton_unk=0.5).singletons.tolist()
        [False, False, False, True, False]
        """
        for name, p in (("singleton_unk", singleton_unk), ("word_dropout", word_dropout)):
            if not 0 <= p <= 1:
                raise ValueError(f"{name} is a probability between 0 and 1, got {p}")
        if not singleton_unk and not word_dropout:
            return None
        counts = np.bincount(data.words[data.mask], minlength=vocabulary_size)
        singletons = counts == 1
        singletons[:UNK + 1] = False
        return cls(singletons, singleton_unk, word_dropout)

    def unknown_probability(self, words):
        """Per position of `words` (a tensor of word ids), the probability of reading it as UNK."""
        import tensorflow as tf

        singleton = tf.gather(tf.constant(self.singletons), words)
        keep = (1.0 - self.word_dropout) * (1.0 - self.singleton_unk * tf.cast(singleton, tf.float32))
        return tf.where(words > UNK, 1.0 - keep, 0.0)


def make_dataset(data: Encoded, sample_weights: np.ndarray | None = None, *, batch_size: int,
                 plan: BatchPlan | None = None, order=None, noise: WordNoise | None = None):
    """A tf.data pipeline of `({"words", "chars"}, labels, sample_weights)` batches.

    Each batch is padded to its own longest sentence and word. Batches follow `plan` (training),
    or else `order` (default: corpus order) cut into runs of `batch_size`. Without
    `sample_weights` the elements are the features alone (for prediction). `noise` (with a `plan`)
    reads training words as UNK at random, drawn anew for every batch of every epoch from the
    plan's per-batch seeds.
    """
    import tensorflow as tf

    if plan is None:
        index = np.arange(len(data.lengths)) if order is None else np.asarray(order)
        batches = tf.data.Dataset.from_tensor_slices(index).batch(batch_size)
        batches = batches.map(lambda index: (index, tf.zeros([2], tf.int64)))
    else:
        signature = (tf.TensorSpec([None], tf.int64), tf.TensorSpec([2], tf.int64))
        batches = tf.data.Dataset.from_generator(plan.seeded, output_signature=signature).apply(
            tf.data.experimental.assert_cardinality(len(plan)))  # a known length: Keras counts steps from epoch 1
    words, chars, lengths = tf.constant(data.words), tf.constant(data.chars), tf.constant(data.lengths)
    if sample_weights is not None:  # training and validation; prediction needs the features alone
        labels, weights = tf.constant(data.labels), tf.constant(sample_weights, tf.float32)

    def gather(index, seed):
        seq_len = tf.reduce_max(tf.gather(lengths, index))
        batch_chars = tf.gather(chars, index)[:, :seq_len]
        word_len = tf.maximum(tf.reduce_max(tf.math.count_nonzero(batch_chars, axis=-1, dtype=tf.int32)), 1)
        batch_words = tf.gather(words, index)[:, :seq_len]
        if noise is not None:
            draw = tf.random.stateless_uniform(tf.shape(batch_words), seed=seed)
            batch_words = tf.where(draw < noise.unknown_probability(batch_words), UNK, batch_words)
        features = {"words": batch_words, "chars": batch_chars[:, :, :word_len]}
        if sample_weights is None:
            return features
        return features, tf.gather(labels, index)[:, :seq_len], tf.gather(weights, index)[:, :seq_len]

    return batches.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

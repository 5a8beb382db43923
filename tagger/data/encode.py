"""Corpus -> ragged id arrays (flat ids and row splits: memory in proportion to real tokens and
characters), and id arrays -> a length-bucketed tf.data pipeline of (x, y, sample_weight) batches,
each padded to its own longest sentence and word."""

from __future__ import annotations

import logging
from array import array
from dataclasses import dataclass, field

import numpy as np

from tagger.data.readers import Corpus
from tagger.data.tags import label_set
from tagger.data.vocab import UNK, Vocabularies

log = logging.getLogger(__name__)

PAD_LABEL = -1  # label id on padding (and on gold labels the model cannot know); weight 0 there
# Batches cut from a sentence order (prediction, validation) hold at most batch_size x this many padded
# positions, so that one very long sentence does not pad a whole batch of hundreds of sentences to its length
PADDED_POSITIONS_PER_SENTENCE = 64


def row_splits(lengths: np.ndarray) -> np.ndarray:
    """Offsets of rows of `lengths` entries laid end to end: int32 while they fit, int64 beyond.

    >>> row_splits(np.array([2, 0, 3]))
    array([0, 2, 2, 5], dtype=int32)
    """
    splits = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
    return splits.astype(np.int32) if splits[-1] < 2**31 else splits


def _positions(splits: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The flat positions of rows `rows` of `splits`, laid end to end, and their own row splits.

    >>> [a.tolist() for a in _positions(np.array([0, 2, 5, 6]), np.array([2, 0]))]
    [[5, 0, 1], [0, 1, 3]]
    """
    starts = splits[rows].astype(np.int64)
    lengths = splits[rows + 1] - starts
    own = row_splits(lengths)
    return np.repeat(starts - own[:-1], lengths) + np.arange(own[-1]), own


@dataclass
class Encoded:
    """A corpus as flat id arrays with row splits: sentence i is tokens token_splits[i] to
    token_splits[i + 1] of `word_ids` and `labels`, and token k is characters char_splits[k] to
    char_splits[k + 1] of `char_ids`. Memory follows the real tokens and characters; batches are padded
    when they are built (`pad_rows`)."""

    word_ids: np.ndarray  # (tokens,) int32
    char_ids: np.ndarray  # (characters,) int32, never 0 (PAD)
    labels: np.ndarray  # (tokens,) int32, PAD_LABEL for a gold label the vocabulary lacks; multi-label:
    # (tokens, labels) float32 multi-hot
    token_splits: np.ndarray  # (samples + 1,) int32 (int64 past 2^31 tokens), as `row_splits` gives
    char_splits: np.ndarray  # (tokens + 1,) int32 (int64 past 2^31 characters)
    sentence_weights: np.ndarray  # (samples,) float32
    lengths: np.ndarray = field(init=False)  # (samples,) int32: tokens per sentence

    def __post_init__(self):
        self.lengths = np.diff(self.token_splits).astype(np.int32)

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def num_tokens(self) -> int:
        return len(self.word_ids)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays."""
        return sum(a.nbytes for a in (self.word_ids, self.char_ids, self.labels, self.token_splits,
                                      self.char_splits, self.sentence_weights, self.lengths))

    def subset(self, index) -> Encoded:
        """The sentences `index` (in that order) as an `Encoded` of their own.

        >>> data = Encoded(np.arange(5), np.arange(1, 9), np.zeros(5, np.int32), np.array([0, 2, 5]),
        ...                np.array([0, 1, 3, 4, 6, 8]), np.array([1.0, 2.0]))
        >>> part = data.subset([1])
        >>> part.word_ids.tolist(), part.char_ids.tolist(), part.char_splits.tolist(), part.sentence_weights.tolist()
        ([2, 3, 4], [4, 5, 6, 7, 8], [0, 1, 3, 5], [2.0])
        """
        index = np.asarray(index, dtype=np.int64)
        tokens, token_splits = _positions(self.token_splits, index)
        chars, char_splits = _positions(self.char_splits, tokens)
        return Encoded(self.word_ids[tokens], self.char_ids[chars], self.labels[tokens], token_splits, char_splits,
                       self.sentence_weights[index])

    def word_counts(self, vocabulary_size: int) -> np.ndarray:
        """Tokens of each word id, (vocabulary_size,)."""
        return np.bincount(self.word_ids, minlength=vocabulary_size)

    def per_token(self, values: np.ndarray) -> np.ndarray:
        """One value per sentence -> the sentence's value at each of its tokens (flat)."""
        return np.repeat(values, self.lengths, axis=0)

    def per_sentence(self, values: np.ndarray) -> list[np.ndarray]:
        """A flat per-token array (labels, weights, outputs) -> one view per sentence."""
        return np.split(values, self.token_splits[1:-1])

    def padded(self, index, sample_weights: np.ndarray | None = None):
        """Sentences `index` as one batch padded as `batch_padder` pads it, in numpy arrays:
        `({"words": (b, t), "chars": (b, t, c)}, labels, weights)`, weights None without `sample_weights`."""
        import tensorflow as tf

        features, labels, weights = batch_padder(self, sample_weights)(tf.constant(index, tf.int64))
        return ({name: tensor.numpy() for name, tensor in features.items()}, labels.numpy(),
                None if weights is None else weights.numpy())


def batch_padder(data: Encoded, sample_weights: np.ndarray | None = None):
    """A TensorFlow function of sentence indices (b,) -> the batch of those sentences of `data`, as
    `pad_rows` pads it; the weights from the flat per-token `sample_weights` (None without them)."""
    import tensorflow as tf

    arrays = [tf.constant(a) for a in (data.word_ids, data.char_ids, data.labels, data.token_splits, data.char_splits)]
    weights = None if sample_weights is None else tf.constant(sample_weights, tf.float32)
    return lambda index: pad_rows(*arrays, weights, index)


def pad_rows(word_ids, char_ids, labels, token_splits, char_splits, weights, index):
    """The one home of padding: sentences `index` (b,) of flat id tensors with row splits (as `Encoded`
    holds them; `weights`: flat per-token, or None) -> the batch `({"words": (b, t), "chars": (b, t, c)},
    labels, weights)`, padded to its own longest sentence (t) and word (c).

    Word and character ids are 0 on padding, labels (b, t) (multi-label: (b, t, labels)) PAD_LABEL,
    and the weights (b, t) 0 (None without weights). Every word gets at least one character position (c >= 1).
    """
    import tensorflow as tf

    def spans(splits, rows, flat_size):
        """Dense (rows, longest) positions into a flat array, of the rows `rows` of `splits`, and
        their mask (False on padding; positions there are clipped into range)."""
        starts, ends = tf.gather(splits, rows), tf.gather(splits, rows + 1)
        offsets = tf.range(tf.reduce_max(tf.concat([ends - starts, [0]], 0)), dtype=splits.dtype)
        mask = offsets[None, :] < (ends - starts)[:, None]
        return tf.minimum(starts[:, None] + offsets[None, :], tf.cast(tf.maximum(flat_size - 1, 0), splits.dtype)), mask

    index = tf.cast(index, token_splits.dtype)
    tokens, token_mask = spans(token_splits, index, tf.size(word_ids, out_type=tf.int64))  # (b, t)
    real = tf.where(token_mask)  # (tokens, 2): (sentence, position) of each real token
    chars, char_mask = spans(char_splits, tf.cast(tf.gather_nd(tokens, real), char_splits.dtype),
                             tf.size(char_ids, out_type=tf.int64))
    chars = tf.where(char_mask, tf.gather(char_ids, chars), 0)  # (tokens, c)
    chars = tf.pad(chars, [[0, 0], [0, tf.maximum(1 - tf.shape(chars)[1], 0)]])
    shape = tf.concat([tf.shape(tokens, out_type=tf.int64), tf.shape(chars, out_type=tf.int64)[1:]], 0)
    features = {"words": tf.where(token_mask, tf.gather(word_ids, tokens), 0),
                "chars": tf.scatter_nd(real, chars, shape)}
    mask = token_mask if labels.shape.rank == 1 else token_mask[:, :, None]
    batch_labels = tf.where(mask, tf.gather(labels, tokens), tf.constant(PAD_LABEL, labels.dtype))
    batch_weights = None if weights is None else tf.where(token_mask, tf.gather(weights, tokens), 0.0)
    return features, batch_labels, batch_weights


def encode(corpus: Corpus, vocab: Vocabularies, *, max_chars: int | None = None, name: str = "corpus") -> Encoded:
    """Turn `corpus` into ragged id arrays.

    Words longer than `max_chars` characters are cut, with one warning that counts them (training
    sentences are never cut: `datasets.split_long_sentences` splits the long ones). Tags become the
    model's labels (`Vocabularies.model_tags`: IOBES for an `iobes` vocabulary). Gold labels
    missing from `vocab` get `PAD_LABEL` (no loss, no weight; multi-label: the label is left out of
    the token's set) and one warning with their counts.
    """
    token_splits = row_splits(np.array([len(s) for s in corpus.tokens], dtype=np.int64))
    num_tokens = int(token_splits[-1])
    word_ids, char_ids, word_lengths = array("i"), array("i"), np.zeros(num_tokens, np.int64)
    if vocab.multi_label:
        labels = np.zeros((num_tokens, len(vocab.labels)), np.float32)
    else:
        labels = np.full(num_tokens, PAD_LABEL, np.int32)
    unknown_labels: dict[str, int] = {}
    long_words = 0
    token = 0
    for sentence, tags in zip(corpus.tokens, corpus.tags):
        for word, tag in zip(sentence, vocab.model_tags(tags)):
            word_ids.append(vocab.word_id(word))
            long_words += max_chars is not None and len(word) > max_chars
            spelling = word[:max_chars]
            char_ids.extend(vocab.chars.index(c) for c in spelling)
            word_lengths[token] = len(spelling)
            if vocab.multi_label:
                for label in label_set(tag):
                    if label in vocab.labels:
                        labels[token, vocab.labels.index(label)] = 1.0
                    else:
                        unknown_labels[label] = unknown_labels.get(label, 0) + 1
            elif tag in vocab.labels:
                labels[token] = vocab.labels.index(tag)
            else:
                unknown_labels[tag] = unknown_labels.get(tag, 0) + 1
            token += 1
    if long_words:
        log.warning("%s: %d of %d words are longer than max_chars=%d and were cut", name, long_words, num_tokens,
                    max_chars)
    if unknown_labels:
        log.warning("%s: labels absent from training can never be predicted (tokens: %s)", name, unknown_labels)
    return Encoded(np.frombuffer(word_ids, np.int32).copy(), np.frombuffer(char_ids, np.int32).copy(), labels,
                   token_splits, row_splits(word_lengths),
                   np.asarray(corpus.weights, dtype=np.float32))


def ordered_batches(order, lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """`order` cut into consecutive batches of at most `batch_size` sentences, each padded to no more than
    batch_size x PADDED_POSITIONS_PER_SENTENCE positions (sentences x its longest), save a sentence that
    alone is longer: one very long sentence then shares its batch with few others.

    >>> [b.tolist() for b in ordered_batches([0, 1, 2, 3], np.array([5, 60, 200, 70]), 2)]
    [[0, 1], [2], [3]]
    """
    order = np.asarray(order, dtype=np.int64)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if not len(order):
        return []
    budget = batch_size * PADDED_POSITIONS_PER_SENTENCE
    if lengths[order].max(initial=0) <= PADDED_POSITIONS_PER_SENTENCE:  # no batch can exceed the budget
        return np.split(order, range(batch_size, len(order), batch_size))
    batches, start, longest = [], 0, 0
    for end, length in enumerate(lengths[order].tolist()):
        longest = max(longest, length)
        if end > start and (end - start == batch_size or (end - start + 1) * longest > budget):
            batches.append(order[start:end])  # full, or too padded with sentence `end`: it opens the next batch
            start, longest = end, length
    return batches + [order[start:]]


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
    def from_training(cls, word_counts: np.ndarray, *, singleton_unk: float = 0.0,
                      word_dropout: float = 0.0) -> WordNoise | None:
        """The noise for training on a corpus with `word_counts` tokens of each word id (`Encoded.word_counts`),
        or None when both probabilities are 0.

        >>> WordNoise.from_training(np.array([0, 0, 2, 1, 0]), singleton_unk=0.5).singletons.tolist()
        [False, False, False, True, False]
        """
        for name, p in (("singleton_unk", singleton_unk), ("word_dropout", word_dropout)):
            if not 0 <= p <= 1:
                raise ValueError(f"{name} is a probability between 0 and 1, got {p}")
        if not singleton_unk and not word_dropout:
            return None
        singletons = np.asarray(word_counts) == 1
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
    """A tf.data pipeline of `({"words", "chars"}, labels, sample_weights)` batches, padded by `pad_rows`.

    Each batch is padded to its own longest sentence and word. Batches follow `plan` (training),
    or else `order` (default: corpus order) cut by `ordered_batches`. `sample_weights` are flat, one
    per token; without them the elements are the features alone (for prediction). `noise` (with a
    `plan`) reads training words as UNK at random, drawn anew for every batch of every epoch from
    the plan's per-batch seeds.
    """
    import tensorflow as tf

    if plan is None:
        index = np.arange(len(data)) if order is None else np.asarray(order, np.int64)
        sizes = [len(batch) for batch in ordered_batches(index, data.lengths, batch_size)]  # consecutive runs of index
        batches = tf.data.Dataset.from_tensor_slices(tf.RaggedTensor.from_row_lengths(index, np.array(sizes, np.int64)))
        batches = batches.map(lambda index: (index, tf.zeros([2], tf.int64)))
    else:
        signature = (tf.TensorSpec([None], tf.int64), tf.TensorSpec([2], tf.int64))
        batches = tf.data.Dataset.from_generator(plan.seeded, output_signature=signature).apply(
            tf.data.experimental.assert_cardinality(len(plan)))  # a known length: Keras counts steps from epoch 1
    pad = batch_padder(data, sample_weights)

    def gather(index, seed):
        features, labels, weights = pad(index)
        features = with_word_noise(features, seed, noise)
        return features if sample_weights is None else (features, labels, weights)

    return batches.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def with_word_noise(features: dict, seed, noise: WordNoise | None) -> dict:
    """A batch's `features` with its words read as UNK at random as `noise` says, drawn from the batch's
    `seed` (a (2,) tensor); unchanged without noise."""
    import tensorflow as tf

    if noise is None:
        return features
    words = features["words"]
    draw = tf.random.stateless_uniform(tf.shape(words), seed=seed)
    return {**features, "words": tf.where(draw < noise.unknown_probability(words), UNK, words)}

"""The word + character BiLSTM tagger: `build_tagger` and its character encoder."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from tagger.crf import CRF
from tagger.data.vocab import PAD, UNK
from tagger.options import CHAR_ENCODERS, HEADS, MULTI_LABEL_HEAD


def word_mask(chars):
    """(batch, words, chars) ids -> (batch, words) booleans: a word is real when it has a character."""
    return ops.any(ops.not_equal(chars, 0), axis=-1)


@keras.saving.register_keras_serializable(package="tagger")
class CharEncoder(layers.Layer):
    """One vector per word from its characters: a BiLSTM (Lample et al. 2016) or a CNN with
    max-pooling (Ma and Hovy 2016).

    Input (batch, words, chars) ids, output (batch, words, dim). The encoder runs once over the
    batch's distinct spellings (a (batch x words, chars) reshape, deduplicated) and its output is
    gathered back to every position; never through `TimeDistributed`, which Keras 3 unrolls into
    one copy per word position. Every word, padding words included, gets at least one unmasked
    character position, because cuDNN's LSTM kernel rejects a fully masked sequence.

    Its output carries the word mask (a word is real when it has a character): Keras'
    `Concatenate` ORs the masks of its inputs, so an unmasked input would unmask padding.
    """

    def __init__(self, num_chars: int, *, kind: str = "lstm", embedding_dim: int = 25, hidden_dim: int = 25,
                 filters: int = 50, kernel_size: int = 3, **kwargs):
        super().__init__(**kwargs)
        if kind not in ("lstm", "cnn"):
            raise ValueError(f"char encoder kind must be 'lstm' or 'cnn', got {kind!r}")
        self.num_chars, self.kind, self.embedding_dim = num_chars, kind, embedding_dim
        self.hidden_dim, self.filters, self.kernel_size = hidden_dim, filters, kernel_size
        self.embedding = layers.Embedding(num_chars, embedding_dim, name="char_embedding")
        if kind == "lstm":
            self.encoder = layers.Bidirectional(layers.LSTM(hidden_dim), name="char_bilstm")
            self.output_dim = 2 * hidden_dim
        else:
            self.encoder = layers.Conv1D(filters, kernel_size, padding="same", activation="tanh", name="char_cnn")
            self.output_dim = filters

    def build(self, input_shape):
        self.embedding.build((None, input_shape[2]))
        self.encoder.build((None, input_shape[2], self.embedding_dim))

    def call(self, chars):
        shape = ops.shape(chars)
        # Most tokens of a batch repeat a word seen earlier in it: encode each distinct spelling once
        distinct, position = tf.raw_ops.UniqueV2(x=ops.reshape(chars, (-1, shape[2])), axis=[0])
        encoded = ops.take(self.encode_words(distinct), position, axis=0)
        return ops.reshape(encoded, (shape[0], shape[1], self.output_dim))

    def encode_words(self, chars):
        """(words, chars) ids -> (words, output_dim) vectors."""
        mask = ops.logical_or(chars > 0, ops.arange(ops.shape(chars)[1])[None, :] == 0)
        embedded = self.embedding(chars)
        if self.kind == "lstm":
            return self.encoder(embedded, mask=mask)
        # padding characters read as zeros, like the convolution's own padding
        features = self.encoder(ops.where(mask[:, :, None], embedded, 0.0))
        return ops.max(ops.where(mask[:, :, None], features, -2.0), axis=1)  # tanh > -2

    def compute_mask(self, chars, mask=None):
        return word_mask(chars)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:2], self.output_dim)

    def get_config(self):
        return {**super().get_config(), "num_chars": self.num_chars, "kind": self.kind,
                "embedding_dim": self.embedding_dim, "hidden_dim": self.hidden_dim,
                "filters": self.filters, "kernel_size": self.kernel_size}


CASINGS = ("padding", "numeric", "mainly_numeric", "all_lower", "all_upper", "initial_upper", "contains_digit",
           "other")


def character_kinds(chars) -> list[int]:
    """Each character of the vocabulary as 0 (padding, unknown), 1 (lower case), 2 (upper case), 3 (digit)
    or 4 (other): what `Casing` reads a word's casing from.

    >>> character_kinds(["<pad>", "<unk>", "a", "B", "7", "-"])
    [0, 0, 1, 2, 3, 4]
    """
    return [0, 0, *(1 if c.islower() else 2 if c.isupper() else 3 if c.isdigit() else 4 for c in chars[2:])]


@keras.saving.register_keras_serializable(package="tagger")
class Casing(layers.Layer):
    """A word's casing as a one-hot vector over `CASINGS` (Reimers and Gurevych 2017), read from its
    character ids: what a lowercase word lookup leaves to the character encoder alone, given directly.

    `kinds` holds `character_kinds` of the character vocabulary; unknown characters count as other.
    Input (batch, words, chars) ids, output (batch, words, len(CASINGS)), masked like `CharEncoder`.
    """

    def __init__(self, kinds, **kwargs):
        super().__init__(**kwargs)
        self.kinds = [int(k) for k in kinds]

    def call(self, chars):
        kind = ops.take(ops.convert_to_tensor(self.kinds, dtype="int32"), chars, axis=0)
        count = {k: ops.sum(ops.cast(kind == k, "int32"), axis=-1) for k in (1, 2, 3)}
        length = ops.sum(ops.cast(chars > 0, "int32"), axis=-1)
        first_upper = kind[..., 0] == 2
        casing = ops.full_like(length, len(CASINGS) - 1)  # other, unless a test below holds; the last test wins
        for test, name in ((count[3] > 0, "contains_digit"), (first_upper, "initial_upper"),
                           (ops.logical_and(count[2] > 0, count[1] == 0), "all_upper"),
                           (ops.logical_and(count[1] > 0, count[2] == 0), "all_lower"),
                           (2 * count[3] > length, "mainly_numeric"), (count[3] == length, "numeric"),
                           (length == 0, "padding")):
            casing = ops.where(test, CASINGS.index(name), casing)
        return ops.one_hot(casing, len(CASINGS))

    def compute_mask(self, chars, mask=None):
        return word_mask(chars)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:2], len(CASINGS))

    def get_config(self):
        return {**super().get_config(), "kinds": self.kinds}


@keras.saving.register_keras_serializable(package="tagger")
class LanguageModelLoss(layers.Layer):
    """Rei (2017)'s auxiliary language-modelling objective: the forward LSTM's state at each word
    predicts the next word, the backward state the previous one, through a tanh layer of `hidden_dim`
    and a softmax over the `vocab_size` most frequent word ids (rarer words read as `<unk>`). In
    training it adds `weight` x (forward + backward) mean cross-entropy over the real predicted
    positions to the model's loss; its output is the two states concatenated, as `Bidirectional`
    would give them.

    Inputs [forward (batch, words, dim), backward (batch, words, dim), words (batch, words) ids].
    """

    def __init__(self, vocab_size: int, *, weight: float = 0.1, hidden_dim: int = 50, **kwargs):
        super().__init__(**kwargs)
        if vocab_size < 3:
            raise ValueError(f"language model vocab_size must be at least 3 (pad, unk, one word), got {vocab_size}: "
                             "set model.lm_vocab to 3 or more, or to 0 for no language-modelling loss")
        self.vocab_size, self.weight, self.hidden_dim = vocab_size, weight, hidden_dim
        self.heads = [(layers.Dense(hidden_dim, activation="tanh", name=f"{side}_lm_hidden"),
                       layers.Dense(vocab_size, dtype="float32", name=f"{side}_lm_words"))
                      for side in ("forward", "backward")]

    def build(self, input_shape):
        for (hidden, words), shape in zip(self.heads, input_shape[:2]):
            hidden.build(shape)
            words.build((*shape[:-1], self.hidden_dim))

    def call(self, inputs, training=None):
        forward, backward, words = inputs
        if training:
            words = ops.where(words >= self.vocab_size, UNK, words)
            self.add_loss(self.weight * (self.predict_loss(self.heads[0], forward[:, :-1], words[:, 1:])
                                         + self.predict_loss(self.heads[1], backward[:, 1:], words[:, :-1])))
        return ops.concatenate([forward, backward], axis=-1)

    @staticmethod
    def predict_loss(head, states, targets):
        hidden, words = head
        losses = ops.sparse_categorical_crossentropy(targets, words(hidden(states)), from_logits=True)
        real = ops.cast(targets != PAD, losses.dtype)
        return ops.sum(losses * real) / ops.maximum(ops.sum(real), 1.0)

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[0]

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], input_shape[0][-1] + input_shape[1][-1])

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "weight": self.weight,
                "hidden_dim": self.hidden_dim}


def build_tagger(
    num_words: int,
    num_chars: int,
    num_labels: int,
    *,
    word_embedding_dim: int = 100,
    char_encoder: str = "lstm",
    char_embedding_dim: int = 25,
    char_hidden_dim: int = 25,
    char_filters: int = 50,
    char_kernel_size: int = 3,
    hidden_dim: int = 100,
    num_layers: int = 1,
    dropout_rate: float = 0.5,
    variational_dropout: bool = False,
    output_bias: np.ndarray | None = None,
    word_embeddings: np.ndarray | None = None,
    freeze_embeddings: bool = False,
    head: str = "softmax",
    crf_allowed: tuple | None = None,
    char_kinds: list[int] | None = None,
    lm_vocab: int = 0,
    lm_weight: float = 0.1,
) -> keras.Model:
    """Word embedding (+ character encoder) -> dropout -> `num_layers` BiLSTMs -> dropout -> softmax.

    `output_bias` sets the initial bias of the softmax layer; ln of the label priors makes the
    untrained model predict the training label distribution instead of a uniform one.
    `word_embeddings` (num_words, dim) initialise the word embedding (dim then overrides
    `word_embedding_dim`); `freeze_embeddings` keeps them fixed. `variational_dropout` drops the same
    features at every position of a sentence. `head="crf"` replaces the softmax
    by a linear-chain CRF (the model then outputs emission scores); `crf_allowed` = (transitions,
    start, end) boolean masks forbid transitions. `char_kinds` (`character_kinds` of the character
    vocabulary) add each word's casing (`Casing`) to its embedding. `lm_vocab` > 0 adds Rei (2017)'s
    auxiliary language-modelling loss (`LanguageModelLoss`, weight `lm_weight`) on the last BiLSTM's two
    directions, over the `lm_vocab` most frequent word ids (word ids are ordered by frequency).
    """
    if head not in (*HEADS, MULTI_LABEL_HEAD):
        raise ValueError(f"head must be one of {(*HEADS, MULTI_LABEL_HEAD)}, got {head!r}")
    if char_encoder not in CHAR_ENCODERS:
        raise ValueError(f"char_encoder must be one of {CHAR_ENCODERS}, got {char_encoder!r}")
    if num_layers < 1:
        raise ValueError(f"num_layers must be at least 1, got {num_layers}")
    if lm_vocab < 0:
        raise ValueError(f"lm_vocab must be 0 (no language-modelling loss) or a word count, got {lm_vocab}")
    words = keras.Input((None,), dtype="int32", name="words")
    chars = keras.Input((None, None), dtype="int32", name="chars")
    if word_embeddings is not None:
        if word_embeddings.shape[0] != num_words:
            raise ValueError(f"word_embeddings has {word_embeddings.shape[0]} rows for {num_words} words")
        word_embedding_dim = word_embeddings.shape[1]
    word_embedding = layers.Embedding(num_words, word_embedding_dim, mask_zero=True, trainable=not freeze_embeddings,
                                      name="word_embedding")
    x = word_embedding(words)
    if word_embeddings is not None:
        word_embedding.embeddings.assign(word_embeddings)
    if char_encoder != "none":
        char_vectors = CharEncoder(num_chars, kind=char_encoder, embedding_dim=char_embedding_dim,
                                   hidden_dim=char_hidden_dim, filters=char_filters,
                                   kernel_size=char_kernel_size, name="char_encoder")(chars)
        x = layers.Concatenate(name="word_and_chars")([x, char_vectors])
    if char_kinds is not None:
        if len(char_kinds) != num_chars:
            raise ValueError(f"char_kinds has {len(char_kinds)} entries for {num_chars} characters")
        x = layers.Concatenate(name="word_and_casing")([x, Casing(char_kinds, name="casing")(chars)])
    noise_shape = (None, 1, None) if variational_dropout else None  # one mask for all positions of a sentence
    x = layers.Dropout(dropout_rate, noise_shape=noise_shape, name="input_dropout")(x)
    for i in range(num_layers):
        # the language model reads the last BiLSTM's two directions apart, then concatenates them itself
        two_outputs = lm_vocab > 0 and i == num_layers - 1
        x = layers.Bidirectional(layers.LSTM(hidden_dim, return_sequences=True),
                                 merge_mode=None if two_outputs else "concat", name=f"bilstm_{i + 1}")(x)
    if two_outputs:
        x = LanguageModelLoss(min(lm_vocab, num_words), weight=lm_weight, name="language_model")([*x, words])
    x = layers.Dropout(dropout_rate, noise_shape=noise_shape, name="output_dropout")(x)
    output = layers.Dense(num_labels, activation={"crf": None}.get(head, head), dtype="float32", name="tags")
    outputs = output(x)
    if head == "crf":
        allowed = dict(zip(("allowed", "allowed_start", "allowed_end"), crf_allowed or ()))
        outputs = CRF(num_labels, dtype="float32", name="crf", **allowed)(outputs)
    if output_bias is not None:
        if np.shape(output_bias) != (num_labels,):
            raise ValueError(f"output_bias must have shape ({num_labels},), got {np.shape(output_bias)}")
        output.bias.assign(np.asarray(output_bias, dtype="float32"))
    inputs = {"words": words, "chars": chars}
    return keras.Model(inputs, outputs, name="tagger")

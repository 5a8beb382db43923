"""A linear-chain CRF output for the tagger (Keras 3 on TensorFlow): transitions, start and end
scores, the weighted negative log-likelihood, and Viterbi decoding.

The `CRF` layer sits after the emission layer and passes the emission scores through; it owns the
transition parameters, so they are saved with the model. `CRFLoss` computes the loss from those
parameters, and `viterbi` decodes.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence

import keras
import numpy as np
import tensorflow as tf

from tagger.data.tags import span_parts
from tagger.distribute import summed_over_replicas
from tagger.options import CRF_WEIGHTINGS

log = logging.getLogger(__name__)

FORBIDDEN = -1e4  # added to the score of a forbidden transition: exp(-1e4) is 0 in float32


def allowed_transitions(labels, seen: Iterable[Sequence[str]] = ()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(from, to), start and end masks of the transitions that make valid IOB2 or IOBES spans.

    IOB2: I-X only after B-X or I-X (so never first). IOBES adds: E-X only after B-X or I-X,
    B-X and I-X only before I-X or E-X (so never last), S-X and E-X end a span. Labels without a
    prefix (such as O) are always allowed.

    Transitions that occur in `seen` (the training tag sequences) stay allowed whatever the rules
    say, with one warning that counts them: a gold path the CRF forbids would cost its sentence a
    loss of about 1e4 (FORBIDDEN) and swamp the gradient of every batch it is in.

    >>> allowed, start, end = allowed_transitions(["O", "B-X", "I-X"])
    >>> allowed.astype(int).tolist(), start.astype(int).tolist()
    ([[1, 1, 0], [1, 1, 1], [1, 1, 1]], [1, 1, 0])
    >>> allowed, start, end = allowed_transitions(["O", "B-X", "I-X"], seen=[["O", "I-X"], ["B-X", "I-X"]])
    >>> allowed.astype(int).tolist(), start.astype(int).tolist()
    ([[1, 1, 1], [1, 1, 1], [1, 1, 1]], [1, 1, 0])
    """
    parts = [span_parts(label) for label in labels]
    prefix, kind = [p for p, _ in parts], [t for _, t in parts]
    iobes = any(p in ("E", "S") for p in prefix)
    k = len(labels)
    allowed = np.ones((k, k), bool)
    for i in range(k):
        for j in range(k):
            inside_next = prefix[j] in ("I", "E") if iobes else prefix[j] == "I"
            if inside_next and not (prefix[i] in ("B", "I") and kind[i] == kind[j]):
                allowed[i, j] = False
            if iobes and prefix[i] in ("B", "I") and not (prefix[j] in ("I", "E") and kind[i] == kind[j]):
                allowed[i, j] = False
    start = np.array([not (p in ("I", "E")) for p in prefix])
    end = np.array([not (iobes and p in ("B", "I")) for p in prefix])
    return allow_seen(labels, seen, allowed, start, end)


def allow_seen(labels, seen: Iterable[Sequence[str]], allowed: np.ndarray, start: np.ndarray,
               end: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The masks with every transition of the tag sequences `seen` allowed; one warning counts
    the transitions that the masks forbade (`allowed_transitions` explains why)."""
    index = {label: i for i, label in enumerate(labels)}
    rules, masks = (allowed, start, end), (allowed.copy(), start.copy(), end.copy())

    def describe(mask: int, at) -> str:
        if mask == 0:
            return f"{labels[at[0]]} -> {labels[at[1]]}"
        return f"start -> {labels[at]}" if mask == 1 else f"{labels[at]} -> end"

    broken: Counter = Counter()  # the forbidden transitions seen -> times seen
    for tags in seen:
        ids = [index[tag] for tag in tags if tag in index]
        moves = [(0, (i, j)) for i, j in zip(ids, ids[1:])] + ([(1, ids[0]), (2, ids[-1])] if ids else [])
        for mask, at in moves:
            if not rules[mask][at]:
                broken[describe(mask, at)] += 1
                masks[mask][at] = True
    if broken:
        log.warning("the training tags break IOB2/IOBES spans %d times (%s); the CRF allows these transitions, so "
                    "that every training sentence has a finite loss. If the data are IOB1, data.tag_scheme=iobes "
                    "trains them as IOBES spans",
                    sum(broken.values()), ", ".join(f"{name}: {n}" for name, n in broken.most_common()))
    return masks


@keras.saving.register_keras_serializable(package="tagger")
class CRF(keras.layers.Layer):
    """Holds a CRF's transition (from, to), start and end scores; passes emission scores through.

    `allowed`, `allowed_start`, `allowed_end` (nested lists of booleans) forbid transitions, in
    training and in decoding alike.
    """

    def __init__(self, num_labels: int, *, allowed=None, allowed_start=None, allowed_end=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # the emission scores keep the word mask
        self.num_labels = num_labels
        ones = np.ones(num_labels, bool)
        self.allowed = np.asarray(allowed if allowed is not None else np.ones((num_labels,) * 2, bool))
        self.allowed_start = np.asarray(allowed_start if allowed_start is not None else ones)
        self.allowed_end = np.asarray(allowed_end if allowed_end is not None else ones)

    def build(self, input_shape):
        k = self.num_labels
        self.transitions = self.add_weight(shape=(k, k), initializer="zeros", name="transitions")
        self.start = self.add_weight(shape=(k,), initializer="zeros", name="start")
        self.end = self.add_weight(shape=(k,), initializer="zeros", name="end")

    def call(self, emissions):
        return emissions

    def scores(self):
        """Transition, start and end scores with forbidden moves penalised (tensors)."""
        penalty = lambda allowed: tf.constant(np.where(allowed, 0.0, FORBIDDEN), tf.float32)  # noqa: E731
        return (self.transitions + penalty(self.allowed), self.start + penalty(self.allowed_start),
                self.end + penalty(self.allowed_end))

    def numpy_scores(self):
        return tuple(np.asarray(s) for s in self.scores())

    def get_config(self):
        return {**super().get_config(), "num_labels": self.num_labels, "allowed": self.allowed.tolist(),
                "allowed_start": self.allowed_start.tolist(), "allowed_end": self.allowed_end.tolist()}


def log_partition(emissions, mask, transitions, start, end):
    """ln Z per sentence by the forward algorithm over the real (mask) positions; (batch,)."""
    emissions = tf.cast(emissions, tf.float32)
    alpha = start[None, :] + emissions[:, 0]

    def step(alpha, inputs):
        emission, real = inputs
        moved = tf.reduce_logsumexp(alpha[:, :, None] + transitions[None], axis=1) + emission
        return tf.where(real[:, None], moved, alpha)

    elements = (tf.transpose(emissions[:, 1:], [1, 0, 2]), tf.transpose(mask[:, 1:]))
    alpha = tf.foldl(step, elements, initializer=alpha)
    return tf.reduce_logsumexp(alpha + end[None, :], axis=1)


def path_score(emissions, labels, mask, transitions, start, end):
    """Score of the label path `labels` per sentence over the real (mask) positions; (batch,)."""
    emissions = tf.cast(emissions, tf.float32)
    real = tf.cast(mask, tf.float32)
    labels = tf.maximum(labels, 0)
    emitted = tf.reduce_sum(tf.gather(emissions, labels, batch_dims=2) * real, axis=1)
    pairs = tf.stack([labels[:, :-1], labels[:, 1:]], axis=-1)
    moved = tf.reduce_sum(tf.gather_nd(transitions, pairs) * real[:, 1:], axis=1)
    last = tf.maximum(tf.reduce_sum(tf.cast(mask, tf.int32), axis=1) - 1, 0)
    final = tf.gather(labels, last, batch_dims=1)
    return emitted + moved + tf.gather(start, labels[:, 0]) + tf.gather(end, final)


@keras.saving.register_keras_serializable(package="tagger")
class CRFLoss(keras.losses.Loss):
    """Weighted CRF negative log-likelihood, summed over sentences and divided by the real tokens.

    `weighting="emission"`: each position's emission scores are multiplied by its temporal weight
    (its gold label's class weight), in the path score and the partition alike, as AllenNLP's
    emission strategy does with label weights; `weighting="sentence"`: each sentence's NLL is
    multiplied by the mean weight of its real tokens. Padding has label -1.
    """

    def __init__(self, crf: CRF | None = None, weighting: str = "sentence", name: str = "crf_loss", **kwargs):
        kwargs.pop("reduction", None)
        super().__init__(name=name, reduction="sum", **kwargs)
        if weighting not in CRF_WEIGHTINGS:
            raise ValueError(f"crf weighting must be one of {CRF_WEIGHTINGS}, got {weighting!r}")
        self.crf, self.weighting = crf, weighting

    def __call__(self, y_true, y_pred, sample_weight=None):
        labels = tf.cast(y_true, tf.int32)
        mask = labels >= 0
        weights = tf.cast(mask, tf.float32) if sample_weight is None else tf.cast(sample_weight, tf.float32)
        transitions, start, end = self.crf.scores()
        emissions = tf.cast(y_pred, tf.float32)
        if self.weighting == "emission":
            emissions = emissions * weights[:, :, None]
        nll = log_partition(emissions, mask, transitions, start, end) - path_score(
            emissions, labels, mask, transitions, start, end)
        real = tf.reduce_sum(tf.cast(mask, tf.float32), axis=1)
        if self.weighting == "sentence":
            nll = nll * tf.reduce_sum(weights, axis=1) / tf.maximum(real, 1.0)
        return tf.reduce_sum(nll) / tf.maximum(summed_over_replicas(tf.reduce_sum(real)), 1.0)

    def get_config(self):
        return {"name": self.name, "weighting": self.weighting}


def viterbi(emissions: np.ndarray, transitions: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The best label path of one sentence's (length, labels) emission scores.

    >>> viterbi(np.array([[1.0, 0.0], [0.0, 0.2]]), np.array([[0.0, -5.0], [0.0, 0.0]]), np.zeros(2), np.zeros(2))
    array([0, 0])
    """
    score = start + emissions[0]
    back = np.zeros(emissions.shape, dtype=np.int64)
    for t in range(1, len(emissions)):
        candidates = score[:, None] + transitions
        back[t] = candidates.argmax(axis=0)
        score = candidates.max(axis=0) + emissions[t]
    path = [int((score + end).argmax())]
    for t in range(len(emissions) - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return np.array(path[::-1])


def viterbi_in_graph(emissions, lengths, transitions, start, end):
    """`viterbi` in TensorFlow ops, for a batch: (batch, time, labels) emission scores and (batch,)
    lengths -> (batch, time) int32 best label paths, the same path `viterbi` gives each sentence
    (on padding, the sentence's last label).

    Each step computes what `viterbi` does, in the same float32 operations: steps past a sentence's
    end keep its scores and point back to the same label.
    """
    emissions = tf.pad(tf.cast(emissions, tf.float32), [[0, 0], [0, 1], [0, 0]])  # a step past the end: no empty scan
    transitions, start, end = (tf.cast(scores, tf.float32) for scores in (transitions, start, end))
    labels = tf.range(tf.shape(transitions)[0], dtype=tf.int32)
    first = start[None, :] + emissions[:, 0]
    real = tf.range(1, tf.shape(emissions)[1])[None, :] < tf.cast(lengths, tf.int32)[:, None]

    def step(carry, inputs):
        score, _ = carry
        emission, is_real = inputs
        candidates = score[:, :, None] + transitions[None]
        moved = tf.reduce_max(candidates, axis=1) + emission
        back = tf.argmax(candidates, axis=1, output_type=tf.int32)
        return (tf.where(is_real[:, None], moved, score),
                tf.where(is_real[:, None], back, tf.broadcast_to(labels, tf.shape(back))))

    scores, backs = tf.scan(step, (tf.transpose(emissions[:, 1:], [1, 0, 2]), tf.transpose(real)),
                            initializer=(first, tf.zeros_like(first, tf.int32)))
    last = tf.argmax(scores[-1] + end[None, :], axis=1, output_type=tf.int32)
    earlier = tf.scan(lambda label, back: tf.gather(back, label, batch_dims=1), backs, initializer=last, reverse=True)
    return tf.transpose(tf.concat([earlier, last[None]], axis=0))[:, :-1]

"""Class weights from label counts, the per-token sample weights built from them, the label priors
that set the output bias, and what a run's weighting scheme makes of its training labels
(`label_weights_for` -> `LabelWeights`).

Pure numpy. Keras' `fit(class_weight=...)` cannot weight tags: for (samples, seq_len) labels it
gives one weight per *sequence*. The weights here reach the loss as the `sample_weight` element
of each batch instead, one weight per token: its label's class weight times its sentence's weight.
They are kept flat, one per real token, like the encoded labels; `encode.pad_rows` lays them out as
(samples, seq_len) per batch, with 0 on padding.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tagger.data.encode import Encoded
from tagger.options import WEIGHTING_SCHEMES

log = logging.getLogger(__name__)


def label_counts(label_ids: np.ndarray, num_labels: int) -> np.ndarray:
    """Tokens per label id over flat label ids; negative ids (labels the vocabulary lacks) are not counted.

    >>> label_counts(np.array([0, 0, 1, 2, 0, -1]), 3)
    array([3, 1, 1])
    """
    return np.bincount(label_ids[label_ids >= 0], minlength=num_labels)


def scheme_weights(counts: np.ndarray, scheme: str, *, beta: float = 0.999, mu: float = 0.15) -> np.ndarray:
    """Raw weights of one scheme, before custom values, ignoring, normalising and clipping.

    `counts` must be positive. With N tokens, K labels and n_c tokens of label c:
    none 1; balanced N / (K n_c) (sklearn's `compute_class_weight('balanced')`); inverse 1 / n_c;
    inverse_sqrt 1 / sqrt(n_c); log max(1, ln(mu N / n_c)); median_frequency median(f) / f_c with
    f_c = n_c / N; effective_number (1 - beta) / (1 - beta^n_c) (Cui et al. 2019).

    >>> scheme_weights(np.array([6, 3, 1]), "balanced").round(4)
    array([0.5556, 1.1111, 3.3333])
    """
    counts = np.asarray(counts, dtype=np.float64)
    total, k = counts.sum(), len(counts)
    if scheme in ("none", "custom"):
        return np.ones(k)
    if scheme == "balanced":
        return total / (k * counts)
    if scheme == "inverse":
        return 1.0 / counts
    if scheme == "inverse_sqrt":
        return 1.0 / np.sqrt(counts)
    if scheme == "log":
        return np.maximum(1.0, np.log(mu * total / counts))
    if scheme == "median_frequency":
        frequencies = counts / total
        return np.median(frequencies) / frequencies
    if scheme == "effective_number":
        if not 0 < beta < 1:
            raise ValueError(f"effective_number needs 0 < beta < 1, got beta={beta}")
        return (1.0 - beta) / (1.0 - np.power(beta, counts))
    raise ValueError(f"unknown weighting scheme {scheme!r}; expected one of {list(WEIGHTING_SCHEMES)}")


def class_weights(
    counts: np.ndarray,
    labels: Sequence[str],
    scheme: str = "none",
    *,
    beta: float = 0.999,
    mu: float = 0.15,
    custom: Mapping[str, float] | None = None,
    ignore: Sequence[str] = (),
    normalize: bool = True,
    max_weight: float | None = None,
) -> np.ndarray:
    """One weight per label, in the order of `labels`.

    Steps: the scheme's raw weights (`custom`: the given label -> weight values, 1 for labels not
    named); labels absent from training and labels in `ignore` get 0; with `normalize`, scale so
    that the mean weight over the training tokens is 1 (schemes then differ only in how they share
    the weight, not in the loss scale, so one learning rate serves all); last, clip at `max_weight`
    (after normalising, it reads "at most max_weight times an average token").
    """
    counts = np.asarray(counts, dtype=np.float64)
    labels = list(labels)
    if len(counts) != len(labels):
        raise ValueError(f"got {len(counts)} counts for {len(labels)} labels")
    unknown = sorted(set(custom or {}).union(ignore) - set(labels))
    if unknown:
        raise ValueError(f"weighting names labels that training does not have: {unknown}; known labels: {labels}")
    present = counts > 0
    weights = np.zeros(len(labels))
    weights[present] = scheme_weights(counts[present], scheme, beta=beta, mu=mu)
    if scheme == "custom":
        for label, value in (custom or {}).items():
            weights[labels.index(label)] = value
    elif custom:
        raise ValueError(f"custom weights are given but the scheme is {scheme!r}; use scheme 'custom'")
    for label in ignore:
        weights[labels.index(label)] = 0.0
    weights[~present] = 0.0
    _check_weights(weights, labels)
    if normalize:
        weights *= counts.sum() / np.dot(counts, weights)
    if max_weight is not None:
        if max_weight <= 0:
            raise ValueError(f"max_weight must be positive, got {max_weight}")
        weights = np.minimum(weights, max_weight)
    return weights


def binary_class_weights(positives: np.ndarray, total: int, scheme: str = "none", **options) -> tuple[np.ndarray, np.ndarray]:
    """Per label of a multi-label task, (positive weights, negative weights).

    Each label is its own two-class problem, with n_neg = total - n_pos negative tokens: the scheme
    and `options` (as for `class_weights`, `custom` and `ignore` aside) weigh its two classes. With
    `balanced`, pos_weight / neg_weight = n_neg / n_pos.

    >>> pos, neg = binary_class_weights(np.array([2, 5]), 10, "balanced", normalize=False)
    >>> pos.tolist(), neg.tolist()
    ([2.5, 1.0], [0.625, 1.0])
    """
    if scheme == "custom" or options.get("custom") or options.get("ignore"):
        raise ValueError("multi-label weighting takes a scheme, not custom weights or ignored labels")
    pairs = [class_weights(np.array([total - n, n]), ["negative", "positive"], scheme, **options)
             for n in np.asarray(positives)]
    return np.array([p for _, p in pairs]), np.array([n for n, _ in pairs])


def _check_weights(weights: np.ndarray, labels: list[str]) -> None:
    bad = [f"{label}={w}" for label, w in zip(labels, weights) if not np.isfinite(w) or w < 0]
    if bad:
        raise ValueError(f"class weights must be finite and >= 0, got {', '.join(bad)}")
    if not weights.any():
        raise ValueError("every class weight is 0 (all labels ignored or absent): nothing would be learnt")


def warn_if_weights_grow_with_frequency(counts: np.ndarray, weights: np.ndarray, labels: Sequence[str]) -> bool:
    """Log a warning, and return True, when weights rise with label frequency.

    That is the classic mistake of using the frequencies themselves as weights instead of their
    inverse: it makes the majority label even more dominant. Tested by a positive rank correlation
    between counts and weights over the labels that have both.
    """
    counts, weights = np.asarray(counts, float), np.asarray(weights, float)
    used = (counts > 0) & (weights > 0)
    if used.sum() < 2 or np.ptp(weights[used]) == 0 or np.ptp(counts[used]) == 0:
        return False
    rank_correlation = pd.Series(counts[used]).rank().corr(pd.Series(weights[used]).rank())
    if not rank_correlation > 0:
        return False
    most = int(np.argmax(np.where(used, counts, -1)))
    log.warning(
        "class weights grow with label frequency (rank correlation %.2f): the most frequent label %r "
        "weighs %.4g. Weights should be the inverse of frequencies, not the frequencies themselves.",
        rank_correlation, labels[most], weights[most],
    )
    return True


def token_sample_weights(label_ids: np.ndarray, weights: np.ndarray,
                         sentence_weights: np.ndarray | None = None) -> np.ndarray:
    """Flat per-token weights: the class weight of each token's gold label (flat `label_ids`) x the
    weight of its sentence (`sentence_weights`, one per token). A negative label id (a label the
    model does not know) gets 0.

    >>> token_sample_weights(np.array([0, 1, -1, 1]), np.array([0.5, 2.0]), np.array([3.0, 3.0, 3.0, 1.0]))
    array([1.5, 6. , 0. , 2. ], dtype=float32)
    """
    known = label_ids >= 0
    token_weights = np.where(known, np.asarray(weights)[np.where(known, label_ids, 0)], 0.0)
    if sentence_weights is not None:
        token_weights = token_weights * np.asarray(sentence_weights)
    return token_weights.astype(np.float32)


def prior_logits(positives: np.ndarray, tokens: int) -> np.ndarray:
    """ln(f / (1 - f)) with f = positives / tokens: the bias under which an untrained sigmoid output
    predicts each label of a multi-label task with its training frequency.

    >>> prior_logits(np.array([1, 5]), 10).round(4)
    array([-2.1972,  0.    ])
    """
    frequencies = np.clip(np.asarray(positives, dtype=np.float64) / tokens, 1e-6, 1 - 1e-6)
    return np.log(frequencies / (1 - frequencies))


def prior_log_frequencies(counts: np.ndarray) -> np.ndarray:
    """ln f_c with f_c = n_c / N: the output bias under which an untrained model predicts the priors.

    Labels with no training token get ln(0.5 / N), below every seen label.
    """
    counts = np.asarray(counts, dtype=np.float64)
    return np.log(np.maximum(counts, 0.5) / counts.sum())


@dataclass
class LabelWeights:
    """What a weighting scheme makes of the training labels."""

    labels: tuple[str, ...]
    counts: np.ndarray  # training tokens per label (multi-label: tokens that carry the label)
    tokens: int  # real training tokens
    class_weights: np.ndarray  # per label (multi-label: weight of a positive)
    negative_weights: np.ndarray | None  # multi-label: weight of a negative, per label

    def prior_bias(self) -> np.ndarray:
        """The output bias under which the untrained model predicts the training label distribution:
        ln f for a softmax or a CRF, ln(f / (1 - f)) for the independent sigmoids of multi-label tags."""
        if self.negative_weights is not None:
            return prior_logits(self.counts, self.tokens)
        return prior_log_frequencies(self.counts)

    def per_token(self, data: Encoded) -> np.ndarray:
        """The flat sample weights of the encoded tokens of `data` (padded per batch by `encode.pad_rows`):
        for single labels class weight x sentence weight; for multi-label tags, whose per-label weights act
        inside the loss, the sentence weights."""
        sentence_weights = data.per_token(data.sentence_weights)
        if self.negative_weights is not None:
            return sentence_weights.astype(np.float32)
        return token_sample_weights(data.labels, self.class_weights, sentence_weights)

    def table(self) -> pd.DataFrame:
        """Training label distribution and the class weight of each label (and, for multi-label tags,
        the weight of a token without it)."""
        total = max(int(sum(self.counts)), 1)
        columns = {"train_tokens": [int(c) for c in self.counts], "frequency": [c / total for c in self.counts],
                   "class_weight": [float(w) for w in self.class_weights]}
        if self.negative_weights is not None:
            columns["negative_weight"] = [float(w) for w in self.negative_weights]
        return pd.DataFrame(columns, index=pd.Index(self.labels, name="label"))


def label_weights_for(labels: Sequence[str], counts: Sequence[int], tokens: int, scheme: str = "none", *,
                      multi_label: bool = False, custom: Mapping[str, float] | None = None, ignore: Sequence[str] = (),
                      **options) -> LabelWeights:
    """Class weights by `scheme` (`custom`, `ignore` and `options` as for `class_weights`) of training
    labels `labels` with `counts` tokens each (`multi_label`: tokens whose set holds it) among `tokens`,
    with a warning when they grow with frequency."""
    counts = np.asarray(counts, dtype=np.int64)
    if multi_label:
        positive, negative = binary_class_weights(counts, tokens, scheme, custom=custom, ignore=ignore, **options)
        warn_if_weights_grow_with_frequency(counts, positive, labels)
        return LabelWeights(tuple(labels), counts, tokens, positive, negative)
    weights = class_weights(counts, labels, scheme, custom=custom, ignore=ignore, **options)
    warn_if_weights_grow_with_frequency(counts, weights, labels)
    return LabelWeights(tuple(labels), counts, tokens, weights, None)

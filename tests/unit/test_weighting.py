"""Class weights worked out by hand on counts O=6, B-X=3, I-X=1 (N=10 tokens, K=3 labels)."""

import logging
import math

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from tagger.data.encode import encode
from tagger.data.readers import Corpus
from tagger.data.vocab import TrainingCounts, Vocabularies
from tagger.weighting import (
    class_weights,
    label_counts,
    label_weights_for,
    prior_log_frequencies,
    scheme_weights,
    token_sample_weights,
    warn_if_weights_grow_with_frequency,
)

LABELS = ["O", "B-X", "I-X"]
COUNTS = np.array([6, 3, 1])


@pytest.mark.parametrize(
    "scheme, options, expected",
    [
        ("none", {}, [1, 1, 1]),
        ("balanced", {}, [10 / 18, 10 / 9, 10 / 3]),
        ("inverse", {}, [1 / 6, 1 / 3, 1]),
        ("inverse_sqrt", {}, [1 / math.sqrt(6), 1 / math.sqrt(3), 1]),
        ("log", {"mu": 1.0}, [1, math.log(10 / 3), math.log(10)]),  # ln(10/6) < 1 is raised to 1
        ("log", {"mu": 0.15}, [1, 1, 1]),  # ln(1.5) < 1: every weight is the floor
        ("median_frequency", {}, [0.5, 1, 3]),  # median(0.6, 0.3, 0.1) / f_c
        ("effective_number", {"beta": 0.5}, [0.5 / (1 - 0.5**6), 0.5 / (1 - 0.5**3), 1]),
    ],
)
def test_raw_scheme_weights_by_hand(scheme, options, expected):
    assert scheme_weights(COUNTS, scheme, **options) == pytest.approx(expected, rel=1e-12)
    assert class_weights(COUNTS, LABELS, scheme, normalize=False, **options) == pytest.approx(expected, rel=1e-12)


def test_balanced_equals_sklearn():
    y = np.repeat([0, 1, 2, 3], [50, 7, 2, 941])
    counts = np.bincount(y)
    expected = compute_class_weight("balanced", classes=np.arange(4), y=y)
    assert class_weights(counts, list("abcd"), "balanced", normalize=False) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("scheme", ["none", "balanced", "inverse", "inverse_sqrt", "median_frequency", "effective_number"])
def test_normalised_mean_weight_over_tokens_is_one(scheme):
    weights = class_weights(COUNTS, LABELS, scheme)
    assert np.dot(COUNTS, weights) / COUNTS.sum() == pytest.approx(1.0)


def test_normalised_inverse_equals_balanced():
    # inverse: sum n_c w_c = 3, scaled by 10/3 -> 10/(3 n_c), which is balanced's N / (K n_c)
    assert class_weights(COUNTS, LABELS, "inverse") == pytest.approx([10 / 18, 10 / 9, 10 / 3])
    assert class_weights(COUNTS, LABELS, "inverse_sqrt") == pytest.approx(
        np.array([1 / math.sqrt(6), 1 / math.sqrt(3), 1]) * 10 / (6 / math.sqrt(6) + 3 / math.sqrt(3) + 1))


def test_clip_after_normalising():
    assert class_weights(COUNTS, LABELS, "balanced", max_weight=2.0) == pytest.approx([10 / 18, 10 / 9, 2.0])


def test_ignored_label_weighs_zero_and_mean_counts_its_tokens():
    # none with B-X ignored: [1, 0, 1], sum n_c w_c = 7, scaled by 10/7
    assert class_weights(COUNTS, LABELS, "none", ignore=["B-X"]) == pytest.approx([10 / 7, 0, 10 / 7])


def test_custom_weights_by_label_name():
    assert class_weights(COUNTS, LABELS, "custom", custom={"I-X": 4.0}, normalize=False) == pytest.approx([1, 1, 4])
    with pytest.raises(ValueError, match=r"labels that training does not have: \['I-Y'\]"):
        class_weights(COUNTS, LABELS, "custom", custom={"I-Y": 4.0})
    with pytest.raises(ValueError, match="use scheme 'custom'"):
        class_weights(COUNTS, LABELS, "balanced", custom={"I-X": 4.0})


def test_label_absent_from_training_weighs_zero():
    assert class_weights(np.array([6, 0, 4]), LABELS, "balanced", normalize=False) == pytest.approx([10 / 12, 0, 10 / 8])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"scheme": "custom", "custom": {"O": -1.0}}, "finite and >= 0"),
        ({"scheme": "custom", "custom": {"O": float("nan")}}, "finite and >= 0"),
        ({"scheme": "custom", "custom": {"O": float("inf")}}, "finite and >= 0"),
        ({"scheme": "none", "ignore": LABELS}, "every class weight is 0"),
        ({"scheme": "balanced", "max_weight": 0.0}, "max_weight must be positive"),
        ({"scheme": "effective_number", "beta": 1.0}, "0 < beta < 1"),
        ({"scheme": "balancd"}, "unknown weighting scheme 'balancd'"),
    ],
)
def test_bad_weights_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        class_weights(COUNTS, LABELS, **kwargs)


def test_guard_warns_when_weights_are_the_frequencies(caplog):
    frequencies = class_weights(COUNTS, LABELS, "custom", custom={"O": 0.6, "B-X": 0.3, "I-X": 0.1}, normalize=False)
    with caplog.at_level(logging.WARNING, logger="tagger.weighting"):
        assert warn_if_weights_grow_with_frequency(COUNTS, frequencies, LABELS)
    assert "'O' weighs 0.6" in caplog.text


@pytest.mark.parametrize("scheme", ["none", "balanced", "inverse_sqrt", "log", "median_frequency", "effective_number"])
def test_guard_is_quiet_for_every_scheme(scheme, caplog):
    with caplog.at_level(logging.WARNING, logger="tagger.weighting"):
        assert not warn_if_weights_grow_with_frequency(COUNTS, class_weights(COUNTS, LABELS, scheme), LABELS)
    assert caplog.text == ""


def test_label_counts_skip_unknown_labels():
    ids = np.array([0, 2, 1, 0, 0, -1])  # two sentences, flat; the -1 is a real token of an unknown label
    assert label_counts(ids, 4).tolist() == [3, 1, 1, 0]


def test_token_weights_multiply_class_and_sentence_weights():
    ids = np.array([0, 1, 2, 2, 2])  # sentences of 3 and 2 tokens, flat
    weights = token_sample_weights(ids, np.array([0.5, 2.0, 8.0]), np.array([1.0, 1.0, 1.0, 0.25, 0.25]))
    assert weights.dtype == np.float32
    np.testing.assert_array_equal(weights, [0.5, 2.0, 8.0, 2.0, 2.0])


def test_token_weights_without_sentence_weights_and_with_unknown_labels():
    np.testing.assert_array_equal(token_sample_weights(np.array([1, 0, -1]), np.array([3.0, 5.0])), [5.0, 3.0, 0.0])


def test_label_weights_for_gives_flat_weights_per_real_token():
    train = Corpus([["a", "b", "c"], ["d"]], [["O", "X", "O"], ["O"]], [1.0, 0.5])
    dev = Corpus([["a", "zz"]], [["X", "NEW"]])
    counts = TrainingCounts.of(zip(train.tokens, train.tags))
    vocab = Vocabularies.from_counts(counts)
    labels = list(vocab.labels.items)
    weights = label_weights_for(labels, counts.label_counts(labels), counts.tokens, "balanced")
    assert weights.tokens == 4 and weights.counts.tolist() == [3, 1]
    np.testing.assert_allclose(weights.class_weights, [4 / 6, 2.0])  # N / (K n_c), mean token weight 1
    np.testing.assert_allclose(weights.per_token(encode(train, vocab)), [4 / 6, 2.0, 4 / 6, 2 / 6], rtol=1e-6)
    np.testing.assert_allclose(weights.per_token(encode(dev, vocab)), [2.0, 0.0])  # the unknown label weighs 0


def test_prior_log_frequencies():
    assert prior_log_frequencies(COUNTS) == pytest.approx(np.log([0.6, 0.3, 0.1]))

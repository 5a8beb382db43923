"""Multi-label tags: weights, the weighted binary cross-entropy, encoding and scores, by hand."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn.metrics import f1_score

from tagger.data.encode import PAD_LABEL, encode
from tagger.data.readers import Corpus
from tagger.data.vocab import Vocabularies
from tagger.losses import WeightedBinaryCrossentropy
from tagger.metrics import multi_label_scores
from tagger.weighting import binary_class_weights


def test_balanced_binary_weights_give_pos_weight_n_neg_over_n_pos():
    positive, negative = binary_class_weights(np.array([1, 4, 10]), 20, "balanced")
    assert positive / negative == pytest.approx([19 / 1, 16 / 4, 10 / 10])
    assert 1 * positive[0] + 19 * negative[0] == pytest.approx(20)  # mean weight over tokens is 1, per label
    with pytest.raises(ValueError, match="not custom weights or ignored labels"):
        binary_class_weights(np.array([1]), 5, "custom")


def test_weighted_bce_matches_tensorflow_on_hand_made_numbers():
    logits = np.array([[[2.0, -1.0, 0.5], [-0.3, 0.8, -2.0], [0.0, 0.0, 0.0]]], np.float32)
    targets = np.array([[[1, 0, 1], [0, 1, 0], [PAD_LABEL] * 3]], np.float32)  # 2 real tokens, 1 padding
    positive, negative = np.array([3.0, 0.5, 2.0]), np.array([1.0, 0.25, 4.0])
    loss = WeightedBinaryCrossentropy(positive, negative)(targets, tf.sigmoid(logits).numpy())
    reference = sum(
        negative[c] * tf.nn.weighted_cross_entropy_with_logits(targets[0, t, c], logits[0, t, c], positive[c] / negative[c])
        for t in range(2) for c in range(3)) / 2
    assert float(loss) == pytest.approx(float(reference), rel=1e-5)


def test_vocabulary_and_multi_hot_encoding():
    corpus = Corpus([["a", "b", "c"]], [["PER|ORG", "O", "ORG"]])
    vocab = Vocabularies.build(corpus.tokens, corpus.tags, multi_label=True)
    assert vocab.labels.items == ("ORG", "PER") and vocab.multi_label
    data = encode(Corpus([["a", "b"], ["c"]], [["PER|ORG", "O"], ["NEW|ORG"]]), vocab)
    np.testing.assert_array_equal(data.labels, [[1, 1], [0, 0], [1, 0]])  # one multi-hot row per token; NEW is unknown
    _, labels, _ = data.padded([0, 1])
    assert labels.shape == (2, 2, 2) and labels.dtype == np.float32
    np.testing.assert_array_equal(labels[0], [[1, 1], [0, 0]])
    np.testing.assert_array_equal(labels[1], [[1, 0], [PAD_LABEL, PAD_LABEL]])


def test_multi_label_scores_against_sklearn():
    gold = [["A|B", "O", "B"], ["A"]]
    pred = [["A", "B", "B"], ["A|B"]]
    scores = multi_label_scores(gold, pred, ["A", "B"])
    y_true = np.array([[1, 1], [0, 0], [0, 1], [1, 0]])
    y_pred = np.array([[1, 0], [0, 1], [0, 1], [1, 1]])
    for average in ("macro", "micro"):
        assert scores[f"{average}_f1"] == pytest.approx(f1_score(y_true, y_pred, average=average))
    assert scores["per_label"]["B"] == pytest.approx({"precision": 1 / 3, "recall": 1 / 2, "f1": 0.4, "support": 2})
    assert scores["accuracy"] == pytest.approx(1 / 4)  # only the third token's set is exact

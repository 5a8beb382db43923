import numpy as np
import pytest

from tagger.data.encode import PAD_LABEL
from tagger.losses import TokenLoss

RNG = np.random.default_rng(0)
LENGTHS = [3, 2]
NUM_LABELS = 4


def padded_batch(seq_len):
    """Two sentences (3 and 2 tokens) with fixed labels, probabilities and weights, padded to `seq_len`."""
    labels = np.full((2, seq_len), PAD_LABEL)
    probabilities = np.full((2, seq_len, NUM_LABELS), 1 / NUM_LABELS, np.float32)
    weights = np.zeros((2, seq_len), np.float32)
    gold = [[0, 3, 1], [2, 0]]
    rows = np.random.default_rng(1).dirichlet(np.ones(NUM_LABELS), size=5).astype(np.float32)
    token_weights = [[1.0, 4.0, 0.5], [2.0, 1.0]]
    k = 0
    for i, n in enumerate(LENGTHS):
        labels[i, :n], weights[i, :n] = gold[i], token_weights[i]
        probabilities[i, :n] = rows[k : k + n]
        k += n
    return labels, probabilities, weights


def expected_loss(gamma=0.0):
    labels, probabilities, weights = padded_batch(3)
    total = 0.0
    for i, n in enumerate(LENGTHS):
        for j in range(n):
            p = probabilities[i, j, labels[i, j]]
            total += weights[i, j] * -((1 - p) ** gamma) * np.log(p)
    return total / sum(LENGTHS)


@pytest.mark.parametrize("gamma", [0.0, 2.0])
def test_loss_is_weighted_mean_over_real_tokens_whatever_the_padding(gamma):
    loss = TokenLoss(gamma)
    short, long = (float(loss(*padded_batch(n)[:2], sample_weight=padded_batch(n)[2])) for n in (10, 50))
    assert short == pytest.approx(long, rel=1e-6)
    assert short == pytest.approx(expected_loss(gamma), rel=1e-5)


def test_focal_with_gamma_zero_is_crossentropy():
    labels, probabilities, weights = padded_batch(10)
    assert float(TokenLoss(0.0)(labels, probabilities, weights)) == pytest.approx(
        float(TokenLoss(1e-12)(labels, probabilities, weights)), rel=1e-5)


def test_config_round_trip_and_bad_gamma():
    assert TokenLoss.from_config(TokenLoss(1.5).get_config()).gamma == 1.5
    with pytest.raises(ValueError, match="gamma must be >= 0"):
        TokenLoss(-1)

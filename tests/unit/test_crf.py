"""The CRF against brute-force enumeration of every label sequence (length 3, 3 labels); the in-graph
Viterbi against the numpy one."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from tagger.crf import CRF, CRFLoss, allowed_transitions, log_partition, path_score, viterbi, viterbi_in_graph
from tests.conftest import is_valid_iob2

RNG = np.random.default_rng(0)
K = 3
TRANSITIONS, START, END = RNG.normal(size=(K, K)), RNG.normal(size=K), RNG.normal(size=K)
EMISSIONS = RNG.normal(size=(2, 3, K))  # sentence 0: 3 real tokens; sentence 1: 2 real tokens, 1 padding
LENGTHS = [3, 2]
GOLD = np.array([[0, 2, 1], [1, 1, -1]])
WEIGHTS = np.array([[1.0, 3.0, 0.5], [2.0, 0.25, 0.0]])


def score(emissions, path):
    total = START[path[0]] + END[path[-1]] + sum(emissions[t, y] for t, y in enumerate(path))
    return total + sum(TRANSITIONS[a, b] for a, b in zip(path, path[1:]))


def brute_log_z(emissions, length):
    scores = [score(emissions[:length], p) for p in itertools.product(range(K), repeat=length)]
    return np.logaddexp.reduce(scores)


def tensors():
    mask = tf.constant(np.arange(3)[None, :] < np.array(LENGTHS)[:, None])
    return tf.constant(EMISSIONS, tf.float32), mask, *(tf.constant(x, tf.float32) for x in (TRANSITIONS, START, END))


def test_log_partition_and_path_score_against_enumeration():
    emissions, mask, transitions, start, end = tensors()
    log_z = log_partition(emissions, mask, transitions, start, end).numpy()
    assert log_z == pytest.approx([brute_log_z(EMISSIONS[i], n) for i, n in enumerate(LENGTHS)], abs=1e-5)
    paths = path_score(emissions, tf.constant(GOLD), mask, transitions, start, end).numpy()
    assert paths == pytest.approx([score(EMISSIONS[i, :n], GOLD[i, :n]) for i, n in enumerate(LENGTHS)], abs=1e-5)


def crf_loss(weighting):
    crf = CRF(K)
    crf.build((None, None, K))
    crf.transitions.assign(TRANSITIONS), crf.start.assign(START), crf.end.assign(END)
    return float(CRFLoss(crf, weighting)(GOLD, EMISSIONS.astype("float32"), WEIGHTS.astype("float32")))


def test_sentence_weighting_by_enumeration():
    nll = [brute_log_z(EMISSIONS[i], n) - score(EMISSIONS[i, :n], GOLD[i, :n]) for i, n in enumerate(LENGTHS)]
    mean_weight = [WEIGHTS[i, :n].mean() for i, n in enumerate(LENGTHS)]
    assert crf_loss("sentence") == pytest.approx(np.dot(nll, mean_weight) / sum(LENGTHS), abs=1e-5)


def test_emission_weighting_by_enumeration():
    scaled = EMISSIONS * WEIGHTS[:, :, None]
    nll = [brute_log_z(scaled[i], n) - score(scaled[i, :n], GOLD[i, :n]) for i, n in enumerate(LENGTHS)]
    assert crf_loss("emission") == pytest.approx(sum(nll) / sum(LENGTHS), abs=1e-5)


def test_viterbi_finds_the_best_path():
    for i, n in enumerate(LENGTHS):
        best = max(itertools.product(range(K), repeat=n), key=lambda p: score(EMISSIONS[i, :n], p))
        assert viterbi(EMISSIONS[i, :n], TRANSITIONS, START, END).tolist() == list(best)


def test_constrained_decoding_gives_valid_iob2_spans_only():
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    allowed, start, end = allowed_transitions(labels)
    penalty = lambda a: np.where(a, 0.0, -1e4)  # noqa: E731
    rng = np.random.default_rng(1)
    invalid_unconstrained = 0
    for _ in range(200):
        emissions = rng.normal(scale=3, size=(6, len(labels)))
        free = [labels[i] for i in viterbi(emissions, np.zeros((5, 5)), np.zeros(5), np.zeros(5))]
        invalid_unconstrained += not is_valid_iob2(free)
        constrained = viterbi(emissions, penalty(allowed), penalty(start), penalty(end))
        assert is_valid_iob2([labels[i] for i in constrained])
    assert invalid_unconstrained > 50  # the constraint is what makes the paths valid


def test_iobes_rules():
    labels = ["O", "B-X", "I-X", "E-X", "S-X"]
    allowed, start, end = allowed_transitions(labels)
    ok = {(a, b) for a in labels for b in labels if allowed[labels.index(a), labels.index(b)]}
    assert ("B-X", "E-X") in ok and ("B-X", "O") not in ok and ("O", "E-X") not in ok and ("S-X", "B-X") in ok
    assert [labels[i] for i in np.flatnonzero(end)] == ["O", "E-X", "S-X"]
    assert [labels[i] for i in np.flatnonzero(start)] == ["O", "B-X", "S-X"]


def test_transitions_seen_in_training_stay_allowed_and_are_counted(caplog):
    labels = ["O", "B-X", "I-X", "E-X", "S-X"]
    seen = [["O", "I-X", "E-X"], ["B-X", "O"], ["O", "I-X", "I-X"], ["S-X", "B-X", "E-X"]]
    with caplog.at_level("WARNING", logger="tagger.crf"):
        allowed, start, end = allowed_transitions(labels, seen)
    rules = allowed_transitions(labels)
    opened = {(labels[i], labels[j]) for i, j in zip(*np.nonzero(allowed & ~rules[0]))}
    assert opened == {("O", "I-X"), ("B-X", "O")}
    assert [labels[i] for i in np.flatnonzero(end & ~rules[2])] == ["I-X"]  # I-X ended a sentence
    assert (start == rules[1]).all()
    assert "break IOB2/IOBES spans 4 times (O -> I-X: 2, B-X -> O: 1, I-X -> end: 1)" in caplog.text


def test_a_forbidden_gold_path_costs_about_1e4_and_allowing_it_makes_the_loss_finite():
    labels, gold = ["O", "B-X", "I-X"], [["O", "I-X", "I-X"]]
    emissions = tf.constant(RNG.normal(size=(1, 3, 3)), tf.float32)
    ids = tf.constant([[labels.index(t) for t in gold[0]]])

    def loss(allowed):
        crf = CRF(3, allowed=allowed[0], allowed_start=allowed[1], allowed_end=allowed[2])
        crf.build((1, 3, 3))
        return float(CRFLoss(crf)(ids, emissions))

    assert loss(allowed_transitions(labels)) > 3000  # 1e4 over 3 tokens
    assert loss(allowed_transitions(labels, gold)) < 10


def test_viterbi_in_graph_gives_each_sentence_the_numpy_path():
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    penalty = lambda a: np.where(a, 0.0, -1e4).astype(np.float32)  # noqa: E731
    scores = [penalty(a) + RNG.normal(size=np.shape(a)).astype(np.float32) for a in allowed_transitions(labels)]
    lengths = np.array([7, 1, 4, 6])
    emissions = RNG.normal(scale=3, size=(4, 7, len(labels))).astype(np.float32)
    emissions[2, 4:] = 100.0  # padding must not change a path
    paths = tf.function(viterbi_in_graph)(emissions, lengths, *scores).numpy()
    for sentence, length in enumerate(lengths):
        expected = viterbi(emissions[sentence, :length], *scores)
        assert paths[sentence, :length].tolist() == expected.tolist()
        assert (paths[sentence, length:] == expected[-1]).all()
    free = tf.function(viterbi_in_graph)(emissions, lengths, *(np.zeros_like(s) for s in scores)).numpy()
    assert (free[0] == emissions[0].argmax(axis=-1)).all() and (free != paths).any()
    one_word = tf.function(viterbi_in_graph)(emissions[:, :1], np.ones(4), *scores).numpy()  # a batch of one time step
    assert one_word[:, 0].tolist() == [viterbi(e[:1], *scores)[0] for e in emissions]

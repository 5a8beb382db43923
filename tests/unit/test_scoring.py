"""From model outputs to tags and scores: decoding rules by hand, the in-graph decoding against
them, the unknown-label policies, and each split predicted once per scoring pass."""

from types import SimpleNamespace

import numpy as np
import pytest

from tagger.data.encode import encode
from tagger.data.readers import Corpus
from tagger.data.vocab import Vocabularies
from tagger.model import build_tagger
from tagger.scoring import (TAU_GRID, best_paths, labels_of, resolve_unknown_labels, score_encoded, score_splits,
                            tags_and_probabilities, tags_in_graph)

SOFTMAX = SimpleNamespace(layers=[])  # best_paths looks at a model's layers only to find a CRF
PROBABILITIES = [np.array([[0.6, 0.3, 0.1], [0.5, 0.1, 0.4]])]


def test_argmax_and_logit_adjustment_by_hand():
    assert best_paths(SOFTMAX, PROBABILITIES)[0].tolist() == [0, 0]
    # ln p - shift: token 2 is [ln .5 - ln .5, ln .1 - ln .1, ln .4 - ln .1] -> label 2
    shift = np.log([0.5, 0.1, 0.1])
    assert best_paths(SOFTMAX, PROBABILITIES, shift)[0].tolist() == [1, 2]


def test_multi_label_tags_are_the_labels_at_or_above_the_threshold():
    sigmoid = [np.array([[0.7, 0.5, 0.1], [0.2, 0.3, 0.4]])]
    assert labels_of(best_paths(SOFTMAX, sigmoid, multi_label=True), ["A", "B", "C"]) == [["A|B", "O"]]
    assert labels_of(best_paths(SOFTMAX, sigmoid, multi_label=True, threshold=0.3), ["A", "B", "C"]) == [["A|B", "B|C"]]


def test_tags_and_probabilities_renormalise_after_the_adjustment():
    (tags, probabilities), = tags_and_probabilities(SOFTMAX, PROBABILITIES, ["O", "X", "Y"],
                                                     logit_shift=np.log([0.5, 0.1, 0.1]))
    # p / prior: token 1 [1.2, 3, 1] / 5.2, token 2 [1, 1, 4] / 6
    assert tags == ["X", "Y"]
    assert probabilities == pytest.approx([3 / 5.2, 4 / 6])



CRF_SCORES = tuple(np.random.default_rng(1).normal(size=shape).astype(np.float32) for shape in ((4, 4), (4,), (4,)))


@pytest.mark.parametrize("options", [{}, {"logit_shift": np.log([0.5, 0.1, 0.1, 0.3])}, {"multi_label": True},
                                     {"multi_label": True, "threshold": 0.2}, {"crf_scores": CRF_SCORES}])
def test_tags_in_graph_are_the_tags_of_best_paths(options):
    rng = np.random.default_rng(0)
    outputs = rng.dirichlet(np.ones(4), size=(3, 6)).astype(np.float32)  # 3 sentences of up to 6 tokens, 4 labels
    lengths = np.array([6, 2, 4])
    labels = ["O", "B-X", "I-X", "Y"]
    graph = tags_in_graph(outputs, lengths, labels, **options).numpy().astype(str).tolist()
    model = SOFTMAX
    if "crf_scores" in options:  # a model with a CRF layer, as far as best_paths looks
        crf = SimpleNamespace(name="crf", numpy_scores=lambda: CRF_SCORES)
        model = SimpleNamespace(layers=[crf], get_layer=lambda name: crf)
    numpy_options = {key: value for key, value in options.items() if key != "crf_scores"}
    expected = labels_of(best_paths(model, [p[:n] for p, n in zip(outputs, lengths)], **numpy_options), labels)
    assert graph == [tags + [""] * (6 - len(tags)) for tags in expected]
    assert len({tag for tags in expected for tag in tags}) > 1

@pytest.mark.parametrize("policy, gold, predicted", [
    (None, [["O", "B-NEW", "O"]], [["O", "X", "O"]]),  # scored as given: a miss
    ("as_o", [["O", "O", "O"]], [["O", "X", "O"]]),
    ("ignore", [["O", "O"]], [["O", "O"]]),
])
def test_unknown_label_policies(policy, gold, predicted):
    assert resolve_unknown_labels([["O", "B-NEW", "O"]], [["O", "X", "O"]], ["O", "X"], policy) == (gold, predicted)


def test_unknown_labels_are_an_error_that_lists_them():
    with pytest.raises(ValueError, match=r"dev: labels the checkpoint was not trained on \(tokens: \{'B-NEW': 2\}\)"):
        resolve_unknown_labels([["B-NEW", "B-NEW"]], [["O", "O"]], ["O"], "error", name="dev")
    with pytest.raises(ValueError, match="unknown_labels must be one of"):
        resolve_unknown_labels([["O"]], [["O"]], ["O"], "drop")


def tiny_model_and_data():
    corpus = Corpus([["a", "bb", "c"], ["dd", "a"], ["c", "c", "bb", "a", "dd"]],
                    [["O", "X", "O"], ["Y", "O"], ["O", "O", "X", "O", "Y"]])
    vocab = Vocabularies.build(corpus.tokens, corpus.tags)
    model = build_tagger(len(vocab.words), len(vocab.chars), 3, word_embedding_dim=8, char_embedding_dim=4,
                         char_hidden_dim=3, hidden_dim=6)
    return model, encode(corpus, vocab), corpus.tags, list(vocab.labels.items)


def test_each_split_is_predicted_once_and_tau_is_tuned_on_devs_predictions():
    model, data, gold, labels = tiny_model_and_data()
    log_priors = np.log([0.6, 0.25, 0.15])
    unadjusted = score_encoded(model, data, gold, labels, name="dev")
    by_tau = {t: score_encoded(model, data, gold, labels, name="dev", logit_shift=t * log_priors) for t in TAU_GRID}
    batches = []
    predict_on_batch = model.predict_on_batch
    model.predict_on_batch = lambda batch: batches.append(batch) or predict_on_batch(batch)
    scored, tau = score_splits(model, {"dev": (data, gold), "test": (data, gold)}, labels, log_priors=log_priors,
                               batch_size=2)
    assert len(batches) == 2 + 2  # dev and test, 3 sentences each in batches of 2: each split predicted once
    assert list(scored) == ["dev", "test", "dev_logit_adjusted", "test_logit_adjusted"]
    assert scored["dev"] == scored["test"] == unadjusted
    best = max(scores["macro_f1"] for scores in by_tau.values())
    assert tau == min(t for t, scores in by_tau.items() if scores["macro_f1"] == best)  # ties go to the smaller tau
    assert scored["dev_logit_adjusted"] == scored["test_logit_adjusted"] == by_tau[tau]

"""WNUT-2017 from ../shared/data/wnut17 (never copied into the repository): skipped where it is absent."""

import numpy as np
import pytest

from tagger import weighting
from tagger.data.encode import encode
from tagger.data.readers import read_conll
from tagger.data.vocab import Vocabularies
from tagger.train import train
from tests.conftest import SHARED_DATA

WNUT = SHARED_DATA / "wnut17"
pytestmark = pytest.mark.skipif(not (WNUT / "train.conll").is_file(), reason=f"WNUT-2017 not found at {WNUT}")


@pytest.mark.parametrize("split, sentences, tokens", [("train", 3394, 62730), ("dev", 1009, 15733), ("test", 1287, 23394)])
def test_reads_the_documented_sizes(split, sentences, tokens):
    corpus = read_conll(WNUT / f"{split}.conll")
    assert (len(corpus), corpus.num_tokens) == (sentences, tokens)


def test_imbalance_and_balanced_weights():
    corpus = read_conll(WNUT / "train.conll")
    vocab = Vocabularies.build(corpus.tokens, corpus.tags)
    data = encode(corpus, vocab)
    counts = weighting.label_counts(data.labels, len(vocab.labels))
    labels = list(vocab.labels.items)
    assert counts[labels.index("I-corporation")] == 46
    assert counts[labels.index("O")] / counts.sum() > 0.9
    weights = weighting.class_weights(counts, labels, "balanced")
    assert np.dot(counts, weights) / counts.sum() == pytest.approx(1.0)
    assert weights[labels.index("I-corporation")] == weights.max()
    assert not weighting.warn_if_weights_grow_with_frequency(counts, weights, labels)


@pytest.mark.slow
def test_one_epoch_on_wnut_writes_entity_scores(compose, tmp_path):
    cfg = compose(["data=conll", *(f"data.{s}={WNUT / s}.conll" for s in ("train", "dev", "test")), "model=tiny",
                   "trainer=quick", "trainer.epochs=1", "trainer.batch_size=64", "weighting=balanced"])
    metrics = train(cfg, tmp_path)
    assert metrics["test"]["per_label"]["O"]["support"] == 23394 - sum(
        v["support"] for k, v in metrics["test"]["per_label"].items() if k != "O")
    assert set(metrics["test"]["entity"]["per_type"]) == {"corporation", "creative-work", "group", "location",
                                                          "person", "product"}

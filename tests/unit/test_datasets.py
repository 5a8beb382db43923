from collections import Counter

import pytest

from tagger.data.datasets import generate_synthetic, load_files, load_hironsan, load_splits
from tests.conftest import TINY_SENTENCES, write_conll


def test_hironsan_is_split_80_10_10_by_order():
    splits = load_hironsan()
    assert (len(splits.train), len(splits.dev), len(splits.test)) == (400, 50, 50)
    assert splits.train.tokens[0][:2] == ["2005", "年"]
    labels = {tag for s in splits.train.tags for tag in s}
    assert len(labels) == 17 and "O" in labels


def test_synthetic_matches_the_requested_shape_and_skew():
    corpus = generate_synthetic(3000, seed=0)
    assert len(corpus) == 3000 and max(len(s) for s in corpus.tokens) == 150
    assert max(len(w) for s in corpus.tokens for w in s) <= 15
    counts = Counter(t for s in corpus.tags for t in s)
    total = sum(counts.values())
    expected = dict(zip(["O", "T1", "T2", "T3", "T4", "T5", "T6"], [0.80, 0.08, 0.05, 0.03, 0.02, 0.015, 0.005]))
    for label, prior in expected.items():
        assert counts[label] / total == pytest.approx(prior, rel=0.1)


def test_synthetic_is_seeded_and_labels_follow_the_left_neighbour():
    a, b = generate_synthetic(50, seed=3), generate_synthetic(50, seed=3)
    assert a.tokens == b.tokens and a.tags == b.tags
    assert generate_synthetic(50, seed=4).tokens != a.tokens
    for words, tags in zip(a.tokens, a.tags):
        for i, word in enumerate(words):
            if word.endswith("zz"):  # ambiguous word: labelled by the cue before it
                previous = words[i - 1] if i else ""
                assert tags[i] == (f"T{previous[3:]}" if previous.startswith("cue") else "O")


def test_user_files_without_dev_hold_out_a_seeded_fraction(tmp_path):
    train = write_conll(tmp_path / "train.conll", TINY_SENTENCES * 5)
    splits = load_splits("conll", train=str(train), dev_fraction=0.2, split_seed=1)
    assert (len(splits.train), len(splits.dev), splits.test) == (24, 6, None)
    again = load_files(str(train), dev_fraction=0.2, split_seed=1)
    assert again.dev.tokens == splits.dev.tokens


def test_unknown_data_set_name():
    with pytest.raises(ValueError, match="unknown data set 'nope'"):
        load_splits("nope")

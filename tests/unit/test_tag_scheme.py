"""Training on the IOBES tags of IOB2 data (`data.tag_scheme`): the conversion both ways, the choice, the
vocabulary and the encoding; read in memory and streamed alike."""

import logging

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from seqeval.metrics.sequence_labeling import get_entities

from tagger.data.encode import encode
from tagger.data.prepare import read_training_data
from tagger.data.readers import Corpus
from tagger.data.tags import iob2_breaks, iob2_name, to_iobes
from tagger.data.vocab import Vocabularies
from tests.conftest import is_valid_iob2, write_conll

TAG = st.sampled_from(["O", "B-X", "I-X", "B-Y", "I-Y"])


@st.composite
def iob2_sentence(draw) -> list[str]:
    """A valid IOB2 sentence: an I-X only after B-X or I-X."""
    tags = draw(st.lists(TAG, max_size=12))
    return [f"B-{t[2:]}" if t.startswith("I-") and not is_valid_iob2(tags[:i] + [t]) else t for i, t in enumerate(tags)]


@given(iob2_sentence())
def test_iob2_to_iobes_and_back_is_the_identity_and_keeps_the_spans(tags):
    iobes = to_iobes(tags)
    assert [iob2_name(tag) for tag in iobes] == tags
    assert get_entities(iobes) == get_entities(tags)  # seqeval reads the same spans from both
    assert iob2_breaks(tags) == 0


def test_iobes_by_hand():
    tags = ["B-X", "I-X", "I-X", "O", "B-X", "B-X", "I-X", "I-Y", "O", "I-X", "I-X"]
    assert to_iobes(tags) == ["B-X", "I-X", "E-X", "O", "S-X", "B-X", "E-X", "S-Y", "O", "B-X", "E-X"]
    assert iob2_breaks(tags) == 2  # I-Y after I-X, I-X after O


IOB2 = [(["John", "lives", "in", "New", "York"], ["B-PER", "O", "O", "B-LOC", "I-LOC"]),
        (["Ann", "met", "Bob", "Lee"], ["B-PER", "O", "B-PER", "I-PER"])]
IOB1 = [(["John", "lives", "in", "New", "York"], ["I-PER", "O", "O", "I-LOC", "I-LOC"])]


def read(tmp_path, sentences, **options):
    path = write_conll(tmp_path / "train.conll", sentences)
    return read_training_data({"name": "conll", "train": str(path), "dev": str(path)}, **options)


@pytest.mark.parametrize("streaming", [False, True])
def test_auto_trains_iob2_tags_as_iobes_and_writes_them_back(tmp_path, caplog, streaming):
    with caplog.at_level(logging.INFO, logger="tagger.data.prepare"):
        vocab = read(tmp_path, IOB2, tag_scheme="auto", streaming=streaming).vocab
    assert "IOB2 tags, trained as IOBES and written back as IOB2 (data.tag_scheme=auto)" in caplog.text
    assert vocab.iobes and vocab.labels.items == ("O", "S-PER", "B-LOC", "B-PER", "E-LOC", "E-PER")
    assert vocab.tag_names == ("O", "B-PER", "B-LOC", "B-PER", "I-LOC", "I-PER")
    data = encode(Corpus([tokens for tokens, _ in IOB2], [tags for _, tags in IOB2]), vocab)
    assert [vocab.labels.items[i] for i in data.labels] == [tag for _, tags in IOB2 for tag in to_iobes(tags)]
    assert Vocabularies.from_json(vocab.to_json()) == vocab


def test_iob1_tags_and_other_labels_are_trained_as_read(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="tagger.data.prepare"):
        vocab = read(tmp_path, IOB1, tag_scheme="auto").vocab
    assert not vocab.iobes and vocab.labels.items == ("I-LOC", "O", "I-PER")
    assert "IOB1 tags or broken IOB2 (2 I- tags open a span), trained as read" in caplog.text
    assert read(tmp_path, IOB1, tag_scheme="iobes").vocab.labels.items == ("O", "B-LOC", "E-LOC", "S-PER")
    assert read(tmp_path, IOB2, tag_scheme="as_read").vocab.labels.items == ("B-PER", "O", "B-LOC", "I-LOC", "I-PER")
    pos = [(["a", "b"], ["DET", "NOUN"])]
    assert not read(tmp_path, pos, tag_scheme="auto").vocab.iobes
    with pytest.raises(ValueError, match=r"data.tag_scheme=iobes needs IOB/IOB2 span tags, and the training "
                                         r"labels are not \(DET, NOUN\); use data.tag_scheme=auto"):
        read(tmp_path, pos, tag_scheme="iobes")


def test_vocabularies_saved_before_the_option_read_as_trained_as_read():
    vocab = Vocabularies.build([["a"]], [["B-X"]])
    saved = vocab.to_json()
    del saved["iobes"]
    assert Vocabularies.from_json(saved) == vocab and not vocab.iobes
    np.testing.assert_array_equal(vocab.tag_names, ["B-X"])

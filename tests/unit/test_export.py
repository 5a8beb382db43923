"""The export's in-graph reading of token strings gives the features of predict's batches."""

import numpy as np
import pytest
import tensorflow as tf

from tagger.data.encode import encode, make_dataset
from tagger.data.readers import Corpus
from tagger.data.vocab import UNK, Vocabularies
from tagger.serving import TokenEncoder

TRAIN = Corpus([["In", "2019", "Ann", "met", "Bob"], ["Q3", "sales", "grew"]], [["O"] * 5, ["O"] * 3])
# unknown words and characters, digits of other scripts, a word longer than max_chars, a longer sentence
SENTENCES = [["ANN", "met", "\u0663\u0664\u0665\u0666", "in", "Q7", "Zo\u00eb", "Antidisestablishmentarianism"],
             ["1999", "<unk>", "<pad>"], ["Bob"] * 9]


@pytest.mark.parametrize("lowercase, digits_to_zero, max_chars", [(True, True, 6), (False, False, None)])
def test_token_encoder_gives_the_features_of_a_prediction_batch(lowercase, digits_to_zero, max_chars):
    vocab = Vocabularies.build(TRAIN.tokens, TRAIN.tags, lowercase=lowercase, digits_to_zero=digits_to_zero)
    data = encode(Corpus(SENTENCES, [["O"] * len(s) for s in SENTENCES]), vocab, max_chars=max_chars)
    expected, = make_dataset(data, batch_size=len(SENTENCES))
    lengths = [len(s) for s in SENTENCES]
    padded = [s + ["Ann"] * (12 - len(s)) for s in SENTENCES]  # padding may be anything, beyond the longest too
    features = TokenEncoder(vocab, max_chars=max_chars)(tf.constant(padded), tf.constant(lengths))
    for name in ("words", "chars"):
        np.testing.assert_array_equal(features[name].numpy(), expected[name].numpy(), err_msg=name)
    assert features["chars"].shape[2] == (6 if max_chars else 28)
    known = features["words"].numpy()[0, :5] != UNK  # ANN, met, 3456, in, Q7
    assert known.tolist() == [lowercase, True, digits_to_zero, lowercase, digits_to_zero]


def test_export_refuses_an_output_that_is_not_a_new_or_empty_directory(compose, tmp_path):
    from tagger.export import export

    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "saved_model.pb").write_text("")
    for output in (tmp_path / "old", tmp_path / "old" / "saved_model.pb"):
        cfg = compose(["checkpoint=nowhere", f"output={output}"], config_name="export")
        with pytest.raises(ValueError, match=f"output={output} exists and is not an empty directory"):
            export(cfg)
    with pytest.raises(FileNotFoundError, match="nowhere: no checkpoint here"):
        export(compose(["checkpoint=nowhere", f"output={tmp_path / 'new'}"], config_name="export"))

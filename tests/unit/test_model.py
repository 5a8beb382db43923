import keras
import numpy as np
import pytest
from keras.src.saving import serialization_lib

from tagger.checkpoint import load_model
from tagger.data.encode import PAD_LABEL, encode, make_dataset
from tagger.data.readers import Corpus
from tagger.data.vocab import Vocabularies
from tagger.losses import TokenLoss
from tagger.model import CASINGS, Casing, LanguageModelLoss, build_tagger, character_kinds
from tagger.scoring import predict_probabilities

TINY = dict(word_embedding_dim=8, char_embedding_dim=4, char_hidden_dim=3, char_filters=5, hidden_dim=6)


def batch(batch_size=2, words=7, chars=5, seed=0):
    rng = np.random.default_rng(seed)
    word_ids = rng.integers(1, 20, size=(batch_size, words))
    char_ids = rng.integers(1, 10, size=(batch_size, words, chars))
    word_ids[0, 4:], char_ids[0, 4:] = 0, 0  # padding words: every character masked
    return {"words": word_ids.astype("int32"), "chars": char_ids.astype("int32")}


@pytest.mark.parametrize("char_encoder", ["lstm", "cnn", "none"])
def test_output_shape_and_finite_probabilities(char_encoder):
    model = build_tagger(20, 10, 5, char_encoder=char_encoder, **TINY)
    probabilities = np.asarray(model(batch(), training=False))
    assert probabilities.shape == (2, 7, 5)
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("char_encoder", ["lstm", "cnn", "none"])
def test_padding_words_or_characters_never_changes_real_tokens(char_encoder):
    model = build_tagger(20, 10, 5, char_encoder=char_encoder, **TINY)
    x = batch(words=4, chars=3)
    reference = np.asarray(model(x, training=False))
    more_words = {"words": np.pad(x["words"], ((0, 0), (0, 6))), "chars": np.pad(x["chars"], ((0, 0), (0, 6), (0, 0)))}
    more_chars = {"words": x["words"], "chars": np.pad(x["chars"], ((0, 0), (0, 0), (0, 4)))}
    np.testing.assert_allclose(np.asarray(model(more_words, training=False))[:, :4], reference, atol=1e-6)
    np.testing.assert_allclose(np.asarray(model(more_chars, training=False)), reference, atol=1e-6)


def test_layer_count_does_not_depend_on_sentence_length():
    model = build_tagger(20, 10, 5, num_layers=2, **TINY)
    assert sum(isinstance(layer, keras.layers.Bidirectional) for layer in model.layers) == 2
    short, long = model(batch(words=3)), model(batch(words=40))
    assert short.shape[1] == 3 and long.shape[1] == 40


def test_prior_bias_makes_the_untrained_model_predict_the_priors():
    priors = np.array([0.9, 0.06, 0.03, 0.01])
    model = build_tagger(20, 10, 4, output_bias=np.log(priors), **TINY)
    output = model.get_layer("tags")
    output.kernel.assign(np.zeros(output.kernel.shape, "float32"))
    mean_distribution = np.asarray(model(batch(), training=False)).reshape(-1, 4).mean(axis=0)
    np.testing.assert_allclose(mean_distribution, priors, atol=1e-3)
    zeros = build_tagger(20, 10, 4, **TINY)
    zeros.get_layer("tags").kernel.assign(np.zeros(output.kernel.shape, "float32"))
    np.testing.assert_allclose(np.asarray(zeros(batch(), training=False)).reshape(-1, 4).mean(0), 0.25, atol=1e-6)


def test_output_bias_shape_is_checked():
    with pytest.raises(ValueError, match=r"output_bias must have shape \(4,\)"):
        build_tagger(20, 10, 4, output_bias=np.zeros(3), **TINY)


@pytest.mark.parametrize("char_encoder", ["lstm", "cnn"])
def test_save_and_load_give_the_same_predictions(tmp_path, char_encoder):
    model = build_tagger(20, 10, 5, char_encoder=char_encoder, **TINY)
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(batch(), training=False), model(batch(), training=False), atol=1e-6)


def test_loading_does_not_depend_on_object_addresses(tmp_path, monkeypatch):
    """Keras' own load_model knows shared objects by id(), and Python reuses the address of the
    throwaway LSTM each Bidirectional builds: one BiLSTM was then handed another's layers, at random.
    Giving every object the same id makes that collision certain (keras.models.load_model fails here)."""
    model = build_tagger(20, 10, 5, num_layers=2, **TINY)
    model.save(tmp_path / "m.keras")
    monkeypatch.setattr(serialization_lib, "id", lambda obj: 1, raising=False)
    loaded = load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(batch(), training=False), model(batch(), training=False), atol=1e-6)


def tiny_corpus():
    tokens = [["a", "bb", "c"], ["dd", "a"], ["c", "c", "bb", "a", "dd"]]
    return Corpus(tokens, [["O", "X", "O"], ["Y", "O"], ["O", "O", "X", "O", "Y"]])


def test_keras_loss_is_the_same_for_a_batch_padded_to_10_and_to_50():
    corpus = tiny_corpus()
    vocab = Vocabularies.build(corpus.tokens, corpus.tags)
    data = encode(corpus, vocab)
    model = build_tagger(len(vocab.words), len(vocab.chars), 3, **TINY)
    model.compile(loss=TokenLoss())
    weights = np.array([1.0, 3.0, 0.5])[data.labels]  # flat, one per token
    x, y, padded_weights = data.padded(np.arange(len(data)), weights)
    assert y.shape == (3, 5)

    def loss_padded_to(seq_len):
        pad = seq_len - y.shape[1]
        padded_x = {"words": np.pad(x["words"], ((0, 0), (0, pad))),
                    "chars": np.pad(x["chars"], ((0, 0), (0, pad), (0, 0)))}
        padded_y = np.pad(y, ((0, 0), (0, pad)), constant_values=PAD_LABEL)
        return model.evaluate(padded_x, padded_y, sample_weight=np.pad(padded_weights, ((0, 0), (0, pad))),
                              batch_size=8, verbose=0)

    probabilities = predict_probabilities(model, data)
    by_hand = sum(-np.log(p[np.arange(len(gold)), gold]) @ w for p, gold, w in zip(
        probabilities, data.per_sentence(data.labels), data.per_sentence(weights))) / data.num_tokens
    assert loss_padded_to(10) == pytest.approx(loss_padded_to(50), rel=1e-5)
    assert loss_padded_to(10) == pytest.approx(by_hand, rel=1e-4)


def test_predict_probabilities_returns_every_sentence_in_corpus_order():
    corpus = tiny_corpus()
    vocab = Vocabularies.build(corpus.tokens, corpus.tags)
    data = encode(corpus, vocab)
    model = build_tagger(len(vocab.words), len(vocab.chars), 3, **TINY)
    probabilities = predict_probabilities(model, data, batch_size=2)
    assert [p.shape for p in probabilities] == [(3, 3), (2, 3), (5, 3)]
    whole = np.asarray(model(data.padded(np.arange(len(data)))[0], training=False))
    for i, p in enumerate(probabilities):
        np.testing.assert_allclose(p, whole[i, : data.lengths[i]], atol=1e-5)
    assert len(list(make_dataset(data, batch_size=2))) == 2


@pytest.mark.parametrize("kind", ["lstm", "cnn"])
def test_char_encoder_gives_each_word_what_it_gives_that_word_alone(kind):
    from tagger.model import CharEncoder

    encoder = CharEncoder(10, kind=kind, embedding_dim=4, hidden_dim=3, filters=5)
    words = np.array([[1, 2, 0], [3, 0, 0], [1, 2, 0], [4, 5, 6], [0, 0, 0]], "int32")
    sentences = np.stack([words, words[::-1]])  # (2, 5, 3): every spelling appears twice
    together = np.asarray(encoder(sentences))
    for i, j in np.ndindex(2, 5):
        alone = np.asarray(encoder(sentences[i, j][None, None, :]))[0, 0]
        np.testing.assert_allclose(together[i, j], alone, atol=1e-6)


def test_casing_reads_each_words_casing_from_its_characters():
    chars = ["<pad>", "<unk>", *"abAB01-"]
    index = {c: i for i, c in enumerate(chars)}
    words = ["ab", "AB", "Ab", "aB", "01", "0a1", "a0", "aB0", "-", "a-b", "A-", "\u00e9"]
    expected = ["all_lower", "all_upper", "initial_upper", "other", "numeric", "mainly_numeric", "all_lower",
                "contains_digit", "other", "all_lower", "all_upper", "other", "padding"]  # é: an unknown character
    ids = np.zeros((1, len(words) + 1, 3), "int32")
    for i, word in enumerate(words):
        ids[0, i, :len(word)] = [index.get(c, 1) for c in word]
    one_hot = np.asarray(Casing(character_kinds(chars))(ids))
    assert one_hot.shape == (1, 13, len(CASINGS))
    assert [CASINGS[k] for k in one_hot[0].argmax(-1)] == expected
    np.testing.assert_array_equal(one_hot.sum(-1), 1.0)


def test_a_tagger_with_casing_saves_loads_and_ignores_padding(tmp_path):
    model = build_tagger(20, 10, 5, char_kinds=[0, 0, 1, 1, 1, 2, 2, 3, 3, 4], **TINY)
    assert model.get_layer("word_and_casing").output.shape[-1] == 8 + 6 + len(CASINGS)
    x = batch(words=4, chars=3)
    reference = np.asarray(model(x, training=False))
    padded = {"words": np.pad(x["words"], ((0, 0), (0, 6))), "chars": np.pad(x["chars"], ((0, 0), (0, 6), (0, 2)))}
    np.testing.assert_allclose(np.asarray(model(padded, training=False))[:, :4], reference, atol=1e-6)
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(x, training=False), reference, atol=1e-6)
    with pytest.raises(ValueError, match="char_kinds has 3 entries for 10 characters"):
        build_tagger(20, 10, 5, char_kinds=[0, 0, 1], **TINY)


def cross_entropy(logits, targets):
    """Per-position cross-entropy of integer `targets` under `logits`, in numpy."""
    logits = logits - logits.max(-1, keepdims=True)
    log_probabilities = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    return -np.take_along_axis(log_probabilities, targets[..., None], axis=-1)[..., 0]


def test_language_model_loss_is_the_weighted_next_and_previous_word_cross_entropy():
    rng = np.random.default_rng(0)
    forward, backward = rng.normal(size=(2, 2, 4, 3)).astype("float32")
    words = np.array([[2, 7, 3, 0], [4, 1, 2, 6]], dtype="int32")  # 7 and 6 are past the 5 kept ids: <unk>
    layer = LanguageModelLoss(5, weight=0.1, hidden_dim=4)
    output = np.asarray(layer([forward, backward, words], training=True))
    np.testing.assert_allclose(output, np.concatenate([forward, backward], -1))
    targets = np.where(words >= 5, 1, words)

    def mean_loss(head, states, wanted):
        hidden, scores = (np.asarray(v) for v in head[0].weights), (np.asarray(v) for v in head[1].weights)
        (w1, b1), (w2, b2) = hidden, scores
        losses = cross_entropy(np.tanh(states @ w1 + b1) @ w2 + b2, wanted)
        return losses[wanted > 0].mean()  # padding targets (0) are not predicted

    expected = 0.1 * (mean_loss(layer.heads[0], forward[:, :-1], targets[:, 1:])
                      + mean_loss(layer.heads[1], backward[:, 1:], targets[:, :-1]))
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(layer.losses[0]), expected, rtol=1e-5)
    layer([forward, backward, words], training=False)
    assert layer.losses == []


def test_a_tagger_with_a_language_model_adds_its_loss_only_in_training_and_saves(tmp_path):
    model = build_tagger(20, 10, 5, lm_vocab=7500, **TINY)
    assert model.get_layer("language_model").vocab_size == 20  # capped at the word vocabulary
    x = batch(words=4, chars=3)
    model(x, training=True)
    assert len(model.losses) == 1 and float(model.losses[0]) > 0
    reference = np.asarray(model(x, training=False))
    assert reference.shape == (2, 4, 5)
    padded = {"words": np.pad(x["words"], ((0, 0), (0, 6))), "chars": np.pad(x["chars"], ((0, 0), (0, 6), (0, 0)))}
    np.testing.assert_allclose(np.asarray(model(padded, training=False))[:, :4], reference, atol=1e-6)
    model.save(tmp_path / "m.keras")
    np.testing.assert_allclose(load_model(tmp_path / "m.keras")(x, training=False), reference, atol=1e-6)
    with pytest.raises(ValueError, match="vocab_size must be at least 3 .*, got 2: set model.lm_vocab"):
        LanguageModelLoss(2)
    with pytest.raises(ValueError, match="lm_vocab must be 0 .* got -1"):
        build_tagger(20, 10, 5, lm_vocab=-1, **TINY)

import logging

import numpy as np
import pytest

from tagger.data.encode import PAD_LABEL, BatchPlan, WordNoise, encode, make_dataset
from tagger.data.readers import Corpus
from tagger.data.vocab import PAD, UNK, Vocabularies, Vocabulary, normalize_word, normalize_words_in_graph

CORPUS = Corpus([["The", "cat", "the", "CAT"], ["a", "dog"]], [["O", "B-A", "O", "B-A"], ["O", "I-A"]])


def test_vocabulary_reserves_pad_and_unk_and_applies_min_freq():
    vocab = Vocabulary.build([["b", "a", "b"], ["c"]], min_freq=2)
    assert vocab.items == ("<pad>", "<unk>", "b")
    assert (vocab.index("b"), vocab.index("zzz")) == (2, UNK)


def test_lowercasing_applies_to_words_only():
    vocab = Vocabularies.build(CORPUS.tokens, CORPUS.tags, lowercase=True)
    assert vocab.words.items == ("<pad>", "<unk>", "cat", "the", "a", "dog")
    assert vocab.word_id("CAT") == vocab.word_id("cat") == 2
    assert "C" in vocab.chars and "T" in vocab.chars  # characters keep case
    assert vocab.labels.items == ("O", "B-A", "I-A")  # labels: no specials, never lowercased
    with pytest.raises(KeyError):
        vocab.labels.index("b-a")


def test_vocabularies_json_round_trip(tmp_path):
    vocab = Vocabularies.build(CORPUS.tokens, CORPUS.tags, min_freq=1, lowercase=True)
    vocab.save(tmp_path / "vocab.json")
    assert Vocabularies.load(tmp_path / "vocab.json") == vocab


def test_encode_shapes_ids_and_padding():
    vocab = Vocabularies.build(CORPUS.tokens, CORPUS.tags)
    data = encode(CORPUS, vocab)
    assert data.words.shape == (2, 4) and data.chars.shape == (2, 4, 3) and data.labels.shape == (2, 4)
    assert data.lengths.tolist() == [4, 2]
    assert data.words[1, 2:].tolist() == [PAD, PAD]
    assert data.labels[1].tolist() == [0, 2, PAD_LABEL, PAD_LABEL]
    assert [vocab.chars.items[i] for i in data.chars[0, 1]] == ["c", "a", "t"]
    assert data.mask.tolist() == [[True] * 4, [True, True, False, False]]


def test_truncation_is_counted_in_one_warning(caplog):
    vocab = Vocabularies.build(CORPUS.tokens, CORPUS.tags)
    with caplog.at_level(logging.WARNING):
        data = encode(CORPUS, vocab, max_len=3, max_chars=2, name="train")
    assert data.words.shape == (2, 3) and data.chars.shape == (2, 3, 2)
    assert "train: 1 of 2 sentences are longer than max_len=3; 1 tokens cut" in caplog.text
    assert "train: 4 of 5 words are longer than max_chars=2 and were cut" in caplog.text


def test_unknown_gold_labels_are_counted_and_carry_no_label(caplog):
    vocab = Vocabularies.build(CORPUS.tokens, CORPUS.tags)
    with caplog.at_level(logging.WARNING):
        data = encode(Corpus([["x", "y"]], [["B-NEW", "O"]]), vocab, name="dev")
    assert data.labels.tolist() == [[PAD_LABEL, 0]]
    assert "dev: labels absent from training can never be predicted (tokens: {'B-NEW': 1})" in caplog.text


def test_batches_are_padded_to_their_own_longest_sentence_and_word():
    tokens = [["a"] * n for n in (2, 9, 3, 8)]
    tokens[1][0] = "abcdefg"
    corpus = Corpus(tokens, [["O"] * len(s) for s in tokens])
    vocab = Vocabularies.build(corpus.tokens, corpus.tags)
    data = encode(corpus, vocab)
    weights = data.mask.astype(np.float32)  # 0 on padding, as temporal_sample_weights gives
    batches = list(make_dataset(data, weights, batch_size=2, order=[0, 2, 1, 3]))
    (x0, y0, w0), (x1, y1, w1) = batches
    assert x0["words"].shape == (2, 3) and x0["chars"].shape == (2, 3, 1)
    assert x1["words"].shape == (2, 9) and x1["chars"].shape == (2, 9, 7)
    assert y0.numpy()[0].tolist() == [0, 0, PAD_LABEL] and w0.numpy()[0].tolist() == [1, 1, 0]
    assert y1.shape == w1.shape == (2, 9)  # labels and weights padded like the words
    assert y1.numpy()[1].tolist() == [0] * 8 + [PAD_LABEL] and w1.numpy()[1].tolist() == [1] * 8 + [0]


@pytest.mark.parametrize("bucketing", [True, False])
def test_planned_batches_cover_every_sentence_once(bucketing):
    lengths = np.random.default_rng(0).integers(1, 60, size=200)
    corpus = Corpus([[f"w{i}"] * n for i, n in enumerate(lengths)], [["O"] * n for n in lengths])
    data = encode(corpus, Vocabularies.build(corpus.tokens, corpus.tags))
    weights = data.mask.astype(np.float32)  # 0 on padding, as temporal_sample_weights gives
    plan = BatchPlan(data.lengths, 16, seed=1, bucketing=bucketing)
    dataset = make_dataset(data, weights, batch_size=16, plan=plan)
    assert int(dataset.cardinality()) == len(plan) == len(plan.batches(0))
    seen, padding = [], 0
    for x, y, w in dataset:
        seen += [int(row[0]) for row in x["words"].numpy()]
        padding += int((w.numpy() == 0).sum())
        np.testing.assert_array_equal(y.numpy() == PAD_LABEL, w.numpy() == 0)  # every real token is labelled O
    assert sorted(seen) == sorted(data.words[:, 0].tolist())
    assert plan.next_epoch == 1
    if bucketing:
        assert padding < 0.1 * lengths.sum()  # random batches of these lengths: ~40 % padding
    else:
        assert padding > 0.3 * lengths.sum()


def test_batch_plan_depends_on_seed_and_epoch_only():
    lengths = np.arange(1, 101)
    plan = BatchPlan(lengths, 8, seed=5)
    first = [b.tolist() for b in plan.batches(3)]
    assert first == [b.tolist() for b in BatchPlan(lengths, 8, seed=5).batches(3)]
    assert first != [b.tolist() for b in plan.batches(4)]
    assert first != [b.tolist() for b in BatchPlan(lengths, 8, seed=6).batches(3)]
    assert sorted(i for b in first for i in b) == list(range(100)) and len(first) == len(plan) == 13
    plan.next_epoch = 3
    assert [b.tolist() for b in plan()] == first and plan.next_epoch == 4


def test_digits_to_zero_normalises_the_word_lookup_only_and_is_saved(tmp_path):
    corpus = Corpus([["In", "2019", "and", "2020", "Q3"]], [["O"] * 5])
    vocab = Vocabularies.build(corpus.tokens, corpus.tags, digits_to_zero=True, lowercase=True)
    assert vocab.words.items == ("<pad>", "<unk>", "0000", "and", "in", "q0")
    assert vocab.word_id("1999") == vocab.word_id("2019") == 2 and vocab.word_id("Q7") == 5
    assert {"1", "2", "9", "Q"} <= set(vocab.chars.items)  # characters keep digits and case
    vocab.save(tmp_path / "vocab.json")
    assert Vocabularies.load(tmp_path / "vocab.json") == vocab
    assert Vocabularies.build(corpus.tokens, corpus.tags).word_id("1999") == UNK  # off by default



@pytest.mark.parametrize("lowercase, digits_to_zero", [(False, False), (True, False), (False, True), (True, True)])
def test_the_in_graph_normalisation_is_normalize_word(lowercase, digits_to_zero):
    # ASCII, Arabic-Indic, Devanagari and fullwidth digits; superscript two is no decimal digit; Greek final sigma;
    # the dotted capital I lowercases to two code points
    words = ["Q3-2019", "\u0663\u0664", "\u0967\u0968", "\uff11\uff12", "x\u00b2", "\u039f\u0394\u039f\u03a3",
             "\u0130stanbul", "Stra\u00dfe", "MAC's", "\U0001F642A", ""]
    graph = normalize_words_in_graph(words, lowercase=lowercase, digits_to_zero=digits_to_zero).numpy()
    python = [normalize_word(word, lowercase=lowercase, digits_to_zero=digits_to_zero) for word in words]
    assert [word.decode() for word in graph] == python
    assert (python[0] == "q0-0000") == (lowercase and digits_to_zero)

NOISE_CORPUS = Corpus([["a", "b", "a", "c"], ["b", "d", "a"]] * 1 + [["e"] * 3], [["O"] * 4, ["O"] * 3, ["O"] * 3])


def noisy_words(noise, plan, epochs):
    """Per epoch, {sentence index: word ids as the training pipeline gives them}."""
    data = encode(NOISE_CORPUS, Vocabularies.build(NOISE_CORPUS.tokens, NOISE_CORPUS.tags))
    dataset = make_dataset(data, data.mask.astype(np.float32), batch_size=plan.batch_size, plan=plan, noise=noise)
    seen = []
    for _ in range(epochs):
        epoch = {}
        for batch, index in zip(dataset, plan.batches(plan.next_epoch)):
            for row, sentence in zip(batch[0]["words"].numpy(), index):
                epoch[int(sentence)] = row[: data.lengths[sentence]].tolist()
        seen.append(epoch)
    return data, seen


def test_word_noise_finds_the_training_singletons():
    data = encode(NOISE_CORPUS, vocab := Vocabularies.build(NOISE_CORPUS.tokens, NOISE_CORPUS.tags))
    noise = WordNoise.from_training(data, len(vocab.words), singleton_unk=0.5)
    assert [vocab.words.items[i] for i in np.flatnonzero(noise.singletons)] == ["c", "d"]
    assert WordNoise.from_training(data, len(vocab.words)) is None  # both probabilities 0: no noise
    with pytest.raises(ValueError, match="word_dropout is a probability between 0 and 1, got 1.5"):
        WordNoise.from_training(data, len(vocab.words), word_dropout=1.5)


def test_singleton_unk_replaces_singletons_only_and_word_dropout_any_real_word():
    data = encode(NOISE_CORPUS, vocab := Vocabularies.build(NOISE_CORPUS.tokens, NOISE_CORPUS.tags))
    plan = BatchPlan(data.lengths, 2, seed=3)
    always = WordNoise.from_training(data, len(vocab.words), singleton_unk=1.0)
    _, (epoch,) = noisy_words(always, plan, 1)
    for sentence, words in epoch.items():
        expected = [UNK if always.singletons[w] else w for w in data.words[sentence, : data.lengths[sentence]]]
        assert words == expected
    everything = WordNoise.from_training(data, len(vocab.words), word_dropout=1.0)
    _, (epoch,) = noisy_words(everything, BatchPlan(data.lengths, 2, seed=3), 1)
    assert all(w == UNK for words in epoch.values() for w in words)  # every real word, no padding id 0


def test_word_noise_depends_on_seed_and_epoch_only():
    data = encode(NOISE_CORPUS, vocab := Vocabularies.build(NOISE_CORPUS.tokens, NOISE_CORPUS.tags))
    noise = WordNoise.from_training(data, len(vocab.words), word_dropout=0.5)
    _, first = noisy_words(noise, BatchPlan(data.lengths, 2, seed=3), 6)
    resumed_plan = BatchPlan(data.lengths, 2, seed=3)
    resumed_plan.next_epoch = 4
    _, resumed = noisy_words(noise, resumed_plan, 2)
    assert resumed == first[4:]  # a run resumed at epoch 4 draws what an uninterrupted run drew
    assert len({str(e) for e in first}) > 1  # drawn anew each epoch
    _, other_seed = noisy_words(noise, BatchPlan(data.lengths, 2, seed=4), 6)
    assert other_seed != first

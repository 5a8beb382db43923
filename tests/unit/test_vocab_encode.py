import logging

import numpy as np
import pytest

from tagger.data.datasets import split_long_sentences
from tagger.data.encode import PAD_LABEL, BatchPlan, WordNoise, encode, make_dataset, ordered_batches
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


def test_encode_keeps_flat_ids_with_row_splits_and_pads_per_batch():
    vocab = Vocabularies.build(CORPUS.tokens, CORPUS.tags)
    data = encode(CORPUS, vocab)
    assert data.token_splits.tolist() == [0, 4, 6] and data.lengths.tolist() == [4, 2] and len(data) == 2
    assert [vocab.words.items[i] for i in data.word_ids] == ["The", "cat", "the", "CAT", "a", "dog"]
    assert data.char_splits.tolist() == [0, 3, 6, 9, 12, 13, 16]
    assert [vocab.chars.items[i] for i in data.char_ids[3:6]] == ["c", "a", "t"]
    assert data.labels.tolist() == [0, 1, 0, 1, 0, 2]
    x, labels, weights = data.padded([0, 1], np.arange(1, 7, dtype=np.float32))
    assert x["words"].shape == (2, 4) and x["chars"].shape == (2, 4, 3) and labels.shape == (2, 4)
    assert x["words"][1, 2:].tolist() == [PAD, PAD]
    assert labels[1].tolist() == [0, 2, PAD_LABEL, PAD_LABEL]
    assert weights.tolist() == [[1, 2, 3, 4], [5, 6, 0, 0]]
    assert [vocab.chars.items[i] for i in x["chars"][0, 1]] == ["c", "a", "t"]
    assert x["chars"][1, 0].tolist() == [vocab.chars.index("a"), PAD, PAD]


def test_long_words_are_cut_with_one_warning(caplog):
    vocab = Vocabularies.build(CORPUS.tokens, CORPUS.tags)
    with caplog.at_level(logging.WARNING):
        data = encode(CORPUS, vocab, max_chars=2, name="train")
    x, _, _ = data.padded([0, 1])
    assert x["words"].shape == (2, 4) and x["chars"].shape == (2, 4, 2)
    assert data.lengths.tolist() == [4, 2] and np.diff(data.char_splits).tolist() == [2, 2, 2, 2, 1, 2]
    assert "train: 5 of 6 words are longer than max_chars=2 and were cut" in caplog.text


def test_long_training_sentences_are_split_not_cut_and_pieces_avoid_cutting_a_span(caplog):
    tags = ["O", "O", "O", "B-X", "I-X", "I-X", "O", "B-Y", "I-Y", "O"]
    corpus = Corpus([list("abcdefghij"), ["k"]], [tags, ["O"]], [3.0, 1.0])
    with caplog.at_level(logging.WARNING):
        pieces = split_long_sentences(corpus, 4)
    assert pieces.tokens == [["a", "b", "c"], ["d", "e", "f", "g"], ["h", "i", "j"], ["k"]]  # not b c | d e
    assert sum(pieces.tags, []) == tags + ["O"] and pieces.weights == [3.0, 3.0, 3.0, 1.0]
    assert "train: 1 of 2 sentences are longer than data.max_len=4 tokens and were split into pieces " \
           "(4 sentences now; no token dropped)" in caplog.text
    assert split_long_sentences(corpus, None) is corpus and split_long_sentences(corpus, 10) is corpus
    assert split_long_sentences(Corpus([["a"] * 5], [["B-X"] + ["I-X"] * 4]), 2).tags == [
        ["B-X", "I-X"], ["I-X", "I-X"], ["I-X"]]  # one span longer than max_len: cut inside it


def test_unknown_gold_labels_are_counted_and_carry_no_label(caplog):
    vocab = Vocabularies.build(CORPUS.tokens, CORPUS.tags)
    with caplog.at_level(logging.WARNING):
        data = encode(Corpus([["x", "y"]], [["B-NEW", "O"]]), vocab, name="dev")
    assert data.labels.tolist() == [PAD_LABEL, 0]
    assert "dev: labels absent from training can never be predicted (tokens: {'B-NEW': 1})" in caplog.text


def test_batches_are_padded_to_their_own_longest_sentence_and_word():
    tokens = [["a"] * n for n in (2, 9, 3, 8)]
    tokens[1][0] = "abcdefg"
    corpus = Corpus(tokens, [["O"] * len(s) for s in tokens])
    vocab = Vocabularies.build(corpus.tokens, corpus.tags)
    data = encode(corpus, vocab)
    weights = np.ones(data.num_tokens, np.float32)
    batches = list(make_dataset(data, weights, batch_size=2, order=[0, 2, 1, 3]))
    (x0, y0, w0), (x1, y1, w1) = batches
    assert x0["words"].shape == (2, 3) and x0["chars"].shape == (2, 3, 1)
    assert x1["words"].shape == (2, 9) and x1["chars"].shape == (2, 9, 7)
    assert y0.numpy()[0].tolist() == [0, 0, PAD_LABEL] and w0.numpy()[0].tolist() == [1, 1, 0]
    assert y1.shape == w1.shape == (2, 9)  # labels and weights padded like the words
    assert y1.numpy()[1].tolist() == [0] * 8 + [PAD_LABEL] and w1.numpy()[1].tolist() == [1] * 8 + [0]


def corpus_with_a_long_sentence_and_a_long_word() -> Corpus:
    """200 short sentences, one of 5,000 tokens (a missing blank line), and a word of 1,000 characters."""
    tokens = [[f"w{i % 37}", "to", "be"] for i in range(200)]
    tokens.insert(100, [f"t{i % 97}{'é' * (i % 4)}" for i in range(5000)])
    tokens[7][1] = "x" * 1000
    return Corpus(tokens, [[f"L{len(w) % 3}" for w in s] for s in tokens])


def test_encoding_round_trips_every_token_character_and_label():
    corpus = corpus_with_a_long_sentence_and_a_long_word()
    vocab = Vocabularies.build(corpus.tokens, corpus.tags)
    data = encode(corpus, vocab, max_chars=None)
    assert data.lengths.tolist() == [len(s) for s in corpus.tokens] and data.num_tokens == 5600
    words = [[vocab.words.items[i] for i in sentence] for sentence in data.per_sentence(data.word_ids)]
    assert words == corpus.tokens
    spellings = ["".join(vocab.chars.items[i] for i in data.char_ids[start:end])
                 for start, end in zip(data.char_splits[:-1], data.char_splits[1:])]
    assert spellings == [w for s in corpus.tokens for w in s]  # the 1,000-character word whole
    assert [[vocab.labels.items[i] for i in s] for s in data.per_sentence(data.labels)] == corpus.tags


def test_a_subset_holds_its_sentences_as_the_whole_corpus_does():
    corpus = corpus_with_a_long_sentence_and_a_long_word()
    data = encode(corpus, Vocabularies.build(corpus.tokens, corpus.tags), max_chars=None)
    index = [7, 2, 0]  # the long word's sentence first
    whole, part = data.padded(index), data.subset(index).padded([0, 1, 2])
    for name in ("words", "chars"):
        np.testing.assert_array_equal(part[0][name], whole[0][name])
    np.testing.assert_array_equal(part[1], whole[1])
    assert data.subset(index).sentence_weights.tolist() == [1.0, 1.0, 1.0] and whole[0]["chars"].shape[2] == 1000


def test_max_chars_cuts_long_words_to_their_first_characters(caplog):
    corpus = corpus_with_a_long_sentence_and_a_long_word()
    vocab = Vocabularies.build(corpus.tokens, corpus.tags)
    with caplog.at_level(logging.WARNING):
        data = encode(corpus, vocab, max_chars=10)  # the other words have at most 6 characters
    assert "corpus: 1 of 5600 words are longer than max_chars=10 and were cut" in caplog.text
    long_word = data.token_splits[7] + 1
    assert data.char_ids[data.char_splits[long_word]:data.char_splits[long_word + 1]].tolist() == [
        vocab.chars.index("x")] * 10
    assert len(data.char_ids) == 24318 - 990


def test_encoded_memory_follows_real_tokens_and_characters():
    corpus = corpus_with_a_long_sentence_and_a_long_word()
    data = encode(corpus, Vocabularies.build(corpus.tokens, corpus.tags), max_chars=None)
    ids = 4 * (data.num_tokens + len(data.char_ids))  # int32 word and character ids
    # 1,340 + 998 characters in the short sentences, 5,000 x 2 or 3 + 7,500 accents = 21,980 in the long one
    assert len(data.char_ids) == sum(len(w) for s in corpus.tokens for w in s) == 24318
    assert ids < data.nbytes < 2 * ids  # labels and offsets add less than the ids themselves
    assert data.nbytes < 1e-4 * 4 * len(data) * 5000 * 1000  # the chars padded to the longest sentence and word


def test_batches_are_the_padded_arrays_worked_out_by_hand():
    corpus = Corpus([["ab", "c"], ["d"], ["efg", "h", "ab"]], [["X", "O"], ["O"], ["O", "X", "O"]])
    vocab = Vocabularies.build(corpus.tokens, corpus.tags)
    assert vocab.words.items[2:] == ("ab", "c", "d", "efg", "h") and vocab.chars.items[2:] == tuple("abcdefgh")
    assert vocab.labels.items == ("O", "X")
    data = encode(corpus, vocab)
    weights = np.array([1, 2, 3, 4, 5, 6], np.float32)  # one per token, flat
    (x0, y0, w0), (x1, y1, w1) = make_dataset(data, weights, batch_size=2, order=[2, 0, 1])
    np.testing.assert_array_equal(x0["words"], [[5, 6, 2], [2, 3, 0]])
    np.testing.assert_array_equal(x0["chars"], [[[6, 7, 8], [9, 0, 0], [2, 3, 0]],
                                                [[2, 3, 0], [4, 0, 0], [0, 0, 0]]])
    np.testing.assert_array_equal(y0, [[0, 1, 0], [1, 0, PAD_LABEL]])
    np.testing.assert_array_equal(w0, [[4, 5, 6], [1, 2, 0]])
    np.testing.assert_array_equal(x1["words"], [[4]])
    np.testing.assert_array_equal(x1["chars"], [[[5]]])
    np.testing.assert_array_equal(y1, [[0]])
    np.testing.assert_array_equal(w1, [[3]])
    assert (x0["words"].dtype, x0["chars"].dtype, y0.dtype, w0.dtype) == ("int32", "int32", "int32", "float32")
    (features,) = make_dataset(data, batch_size=3)  # prediction: the features alone, corpus order
    np.testing.assert_array_equal(features["words"], [[2, 3, 0], [4, 0, 0], [5, 6, 2]])
    assert features["chars"].shape == (3, 3, 3)


def test_a_long_sentence_shares_its_prediction_batch_with_few_others():
    lengths = np.array([5] * 1000 + [5000])
    assert [len(b) for b in ordered_batches(np.arange(1001), lengths, 512)] == [512, 488, 1]
    assert [len(b) for b in ordered_batches(np.arange(1000), lengths, 512)] == [512, 488]  # as cut before
    corpus = Corpus([["a"] * n for n in lengths], [["O"] * n for n in lengths])
    data = encode(corpus, Vocabularies.build(corpus.tokens, corpus.tags))
    shapes = [tuple(x["words"].shape) for x in make_dataset(data, batch_size=512, order=np.argsort(lengths))]
    assert shapes == [(512, 5), (488, 5), (1, 5000)]


@pytest.mark.parametrize("bucketing", [True, False])
def test_planned_batches_cover_every_sentence_once(bucketing):
    lengths = np.random.default_rng(0).integers(1, 60, size=200)
    corpus = Corpus([[f"w{i}"] * n for i, n in enumerate(lengths)], [["O"] * n for n in lengths])
    data = encode(corpus, Vocabularies.build(corpus.tokens, corpus.tags))
    weights = np.ones(data.num_tokens, np.float32)
    plan = BatchPlan(data.lengths, 16, seed=1, bucketing=bucketing)
    dataset = make_dataset(data, weights, batch_size=16, plan=plan)
    assert int(dataset.cardinality()) == len(plan) == len(plan.batches(0))
    seen, padding = [], 0
    for x, y, w in dataset:
        seen += [int(row[0]) for row in x["words"].numpy()]
        padding += int((w.numpy() == 0).sum())
        np.testing.assert_array_equal(y.numpy() == PAD_LABEL, w.numpy() == 0)  # every real token is labelled O
    assert sorted(seen) == sorted(data.word_ids[data.token_splits[:-1]].tolist())  # each sentence's first word
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
    dataset = make_dataset(data, np.ones(data.num_tokens, np.float32), batch_size=plan.batch_size, plan=plan,
                           noise=noise)
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
    noise = WordNoise.from_training(data.word_counts(len(vocab.words)), singleton_unk=0.5)
    assert [vocab.words.items[i] for i in np.flatnonzero(noise.singletons)] == ["c", "d"]
    assert WordNoise.from_training(data.word_counts(len(vocab.words))) is None  # both probabilities 0: no noise
    with pytest.raises(ValueError, match="word_dropout is a probability between 0 and 1, got 1.5"):
        WordNoise.from_training(data.word_counts(len(vocab.words)), word_dropout=1.5)


def test_singleton_unk_replaces_singletons_only_and_word_dropout_any_real_word():
    data = encode(NOISE_CORPUS, vocab := Vocabularies.build(NOISE_CORPUS.tokens, NOISE_CORPUS.tags))
    plan = BatchPlan(data.lengths, 2, seed=3)
    always = WordNoise.from_training(data.word_counts(len(vocab.words)), singleton_unk=1.0)
    _, (epoch,) = noisy_words(always, plan, 1)
    for sentence, words in epoch.items():
        expected = [UNK if always.singletons[w] else w for w in data.per_sentence(data.word_ids)[sentence]]
        assert words == expected
    everything = WordNoise.from_training(data.word_counts(len(vocab.words)), word_dropout=1.0)
    _, (epoch,) = noisy_words(everything, BatchPlan(data.lengths, 2, seed=3), 1)
    assert all(w == UNK for words in epoch.values() for w in words)  # every real word, no padding id 0


def test_word_noise_depends_on_seed_and_epoch_only():
    data = encode(NOISE_CORPUS, vocab := Vocabularies.build(NOISE_CORPUS.tokens, NOISE_CORPUS.tags))
    noise = WordNoise.from_training(data.word_counts(len(vocab.words)), word_dropout=0.5)
    _, first = noisy_words(noise, BatchPlan(data.lengths, 2, seed=3), 6)
    resumed_plan = BatchPlan(data.lengths, 2, seed=3)
    resumed_plan.next_epoch = 4
    _, resumed = noisy_words(noise, resumed_plan, 2)
    assert resumed == first[4:]  # a run resumed at epoch 4 draws what an uninterrupted run drew
    assert len({str(e) for e in first}) > 1  # drawn anew each epoch
    _, other_seed = noisy_words(noise, BatchPlan(data.lengths, 2, seed=4), 6)
    assert other_seed != first

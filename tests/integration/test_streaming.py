"""data.streaming=true: the training file read in passes and trained from shards on disk gives the vocabulary
and class weights of a run in memory, and, in one shard, the very same training."""

import json

import numpy as np
import pandas as pd
import pytest

from tagger.data.datasets import generate_synthetic, load_streaming
from tagger.data.encode import encode
from tagger.data.readers import Corpus
from tagger.data.shards import ShardPlan, write_shards
from tagger.data.vocab import Vocabularies
from tagger.train import train
from tests.conftest import write_conll

pytestmark = pytest.mark.slow

# Split sentences (max_len), sentence weights, unknown-word noise, class weights and a CRF: all see the stream
ARGS = ["data=conll", "model=tiny", "trainer=quick", "weighting=balanced", "data.max_len=15",
        "trainer.singleton_unk=0.5", "trainer.word_dropout=0.05"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("streaming")
    train_corpus, dev = generate_synthetic(120, max_sentence_length=30), generate_synthetic(30, seed=5)
    text = write_conll(directory / "train.conll", zip(train_corpus.tokens, train_corpus.tags)).read_text()
    (directory / "train.conll").write_text("# weight = 3\n" + text)  # the first sentence weighs 3
    write_conll(directory / "dev.conll", zip(dev.tokens, dev.tags))
    return [f"data.train={directory / 'train.conll'}", f"data.dev={directory / 'dev.conll'}"]


def run(compose, tmp_path, name, files, *overrides):
    output_dir = tmp_path / name
    metrics = train(compose([*ARGS, *files, *overrides]), output_dir)
    return output_dir, metrics


def test_streaming_gives_the_vocabulary_class_weights_and_training_of_memory(compose, tmp_path, files):
    memory, memory_metrics = run(compose, tmp_path, "memory", files)
    one, one_metrics = run(compose, tmp_path, "one_shard", files, "data.streaming=true")
    many, many_metrics = run(compose, tmp_path, "many_shards", files, "data.streaming=true", "data.shard_sentences=25")
    vocabulary = (memory / "checkpoint" / "vocab.json").read_text()
    for directory, metrics in ((one, one_metrics), (many, many_metrics)):
        assert (directory / "checkpoint" / "vocab.json").read_text() == vocabulary
        assert metrics["train_labels"] == memory_metrics["train_labels"]  # counts and class weights
        assert not (directory / "shards").exists()  # removed at the end
    assert len({w["class_weight"] for w in memory_metrics["train_labels"].values()}) == 7  # balanced: all differ
    # One shard: the batches, their noise and every number of memory's run
    columns = ["loss", "val_loss", "val_macro_f1"]
    pd.testing.assert_frame_equal(pd.read_csv(one / "history.csv")[columns], pd.read_csv(memory / "history.csv")[columns])
    # Many shards: other batches, the same amount of data per epoch
    assert not np.allclose(pd.read_csv(many / "history.csv")["loss"], pd.read_csv(memory / "history.csv")["loss"])


def test_shard_plan_visits_every_sentence_once_per_epoch_in_an_order_of_seed_and_epoch(tmp_path, files):
    stream, _ = load_streaming("conll", files[0].split("=", 1)[1], files[1].split("=", 1)[1], max_len=15)
    vocab = Vocabularies.build(*zip(*((tokens, tags) for tokens, tags, _ in stream)))
    shards = write_shards(stream, vocab, tmp_path / "shards", max_chars=30, shard_sentences=25)
    everything = encode(Corpus(*(list(column) for column in zip(*stream))), vocab)
    sizes = [25] * (len(everything) // 25) + [len(everything) % 25]
    assert len(everything) > 200 and shards.sizes == tuple(sizes)  # long sentences were split
    assert json.loads((tmp_path / "shards" / "index.json").read_text()) == {"sizes": sizes,
                                                                          "tokens": everything.num_tokens}
    np.testing.assert_array_equal(shards.word_counts(len(vocab.words)), everything.word_counts(len(vocab.words)))

    def epoch(plan, number):
        plan.next_epoch = number
        return [(words.tolist(), seed.tolist()) for (words, *_), seed in plan.seeded(lambda data: data.lengths)]

    plan = ShardPlan(shards, 8, seed=3)
    first, second = epoch(plan, 0), epoch(plan, 1)
    assert len(first) == len(plan) == sum(-(-size // 8) for size in sizes)
    assert sorted(w for words, _ in first for w in words) == sorted(everything.word_ids.tolist())
    assert first != second and epoch(ShardPlan(shards, 8, seed=3), 1) == second  # no state between epochs
    assert [seed for _, seed in second][:2] == [[3, 1 << 20], [3, (1 << 20) + 1]]


@pytest.mark.parametrize("overrides, message", [
    (["data.dev=null"], "data.streaming=true needs a dev file"),
    (["data.format=csv"], "data.streaming=true reads CoNLL column files, got a csv file"),
])
def test_streaming_refuses_what_it_cannot_stream(compose, tmp_path, files, overrides, message):
    with pytest.raises(ValueError, match=message):
        train(compose([*ARGS, *files, "data.streaming=true", *overrides]), tmp_path)

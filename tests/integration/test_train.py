"""End-to-end training runs on tiny data (seconds each)."""

import json
import logging
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score

from tagger.checkpoint import load_model
from tagger.data.datasets import load_splits
from tagger.data.encode import encode
from tagger.data.vocab import Vocabularies
from tagger.scoring import predict_probabilities, score_corpus
from tagger.train import train
from tests.conftest import TINY_SENTENCES, TINY_SYNTHETIC, checkout_env, write_conll

pytestmark = pytest.mark.slow


def test_run_writes_every_file(tiny_run):
    cfg, output_dir, metrics = tiny_run
    assert sorted(p.name for p in (output_dir / "checkpoint").iterdir()) == ["config.yaml", "model.keras", "vocab.json"]
    assert json.loads((output_dir / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    history = pd.read_csv(output_dir / "history.csv")
    assert len(history) == 2
    assert {"loss", "val_loss", "val_macro_f1", "val_micro_f1", "train_tokens_per_s"} <= set(history.columns)
    assert history["learning_rate"].tolist() == pytest.approx([0.01, 0.01])  # the schedule's rate, logged
    assert (output_dir / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![loss and dev scores by epoch](history.png)" in (output_dir / "report.md").read_text()
    for split in ("dev", "test"):
        assert set(metrics[split]["per_label"]) == {"O", "T1", "T2", "T3", "T4", "T5", "T6"}
        assert {"precision", "recall", "f1", "support"} == set(metrics[split]["per_label"]["O"])
        gold, predicted = tags_of_the_checkpoint(output_dir, cfg, split)
        assert set(predicted) - {"O"}, "the run predicts only O: the scores below would say little"
        interest = sorted((set(gold) | set(predicted)) - {"O"})  # the README's rule: every label but O seen
        for average in ("macro", "micro", "weighted"):
            assert metrics[split][f"{average}_f1"] == pytest.approx(
                f1_score(gold, predicted, labels=interest, average=average, zero_division=0), abs=1e-12)
        assert metrics[split]["accuracy"] == pytest.approx(accuracy_score(gold, predicted), abs=1e-12)
    assert metrics["run"]["best_epoch"] in (1, 2)
    assert metrics["run"]["best_value"] == pytest.approx(history["val_macro_f1"].max())
    report = (output_dir / "report.md").read_text()
    for heading in ("## Summary", "## Per-label scores: dev", "## Per-label scores: test", "## Training labels and class weights"):
        assert heading in report
    weights = metrics["train_labels"]
    tokens = sum(v["train_tokens"] for v in weights.values())
    assert sum(v["train_tokens"] * v["class_weight"] for v in weights.values()) / tokens == pytest.approx(1.0)


def tags_of_the_checkpoint(output_dir, cfg, split):
    """(gold, predicted) tags of every token of `split`, flat: the saved model's most probable labels."""
    model = load_model(output_dir / "checkpoint" / "model.keras")
    vocab = Vocabularies.load(output_dir / "checkpoint" / "vocab.json")
    corpus = getattr(load_splits("synthetic", num_sentences=60, max_sentence_length=20), split)
    outputs = predict_probabilities(model, encode(corpus, vocab, max_chars=cfg.data.max_chars))
    predicted = [vocab.labels.items[i] for sentence in outputs for i in sentence.argmax(axis=-1)]
    return [tag for sentence in corpus.tags for tag in sentence], predicted


def test_reloaded_checkpoint_reproduces_the_reported_scores(tiny_run):
    cfg, output_dir, metrics = tiny_run
    model = load_model(output_dir / "checkpoint" / "model.keras")
    vocab = Vocabularies.load(output_dir / "checkpoint" / "vocab.json")
    splits = load_splits("synthetic", num_sentences=60, max_sentence_length=20)
    rescored = score_corpus(model, splits.test, vocab, max_chars=cfg.data.max_chars)
    for key in ("macro_f1", "micro_f1", "weighted_f1", "accuracy"):
        assert rescored[key] == pytest.approx(metrics["test"][key], abs=1e-6)


def test_validation_loss_is_the_weighted_token_mean(tiny_run):
    """val_loss of the best epoch = sum(w * cross-entropy) / real dev tokens, with the training class weights."""
    cfg, output_dir, metrics = tiny_run
    model = load_model(output_dir / "checkpoint" / "model.keras")
    vocab = Vocabularies.load(output_dir / "checkpoint" / "vocab.json")
    dev = encode(load_splits("synthetic", num_sentences=60, max_sentence_length=20).dev, vocab,
                 max_chars=cfg.data.max_chars)
    class_weight = np.array([metrics["train_labels"][label]["class_weight"] for label in vocab.labels.items])
    total = 0.0
    for probabilities, gold in zip(predict_probabilities(model, dev), dev.per_sentence(dev.labels)):
        total += np.sum(class_weight[gold] * -np.log(probabilities[np.arange(len(gold)), gold]))
    history = pd.read_csv(output_dir / "history.csv")
    val_loss = history["val_loss"].iloc[metrics["run"]["best_epoch"] - 1]
    assert val_loss == pytest.approx(total / dev.num_tokens, rel=1e-4)


def test_same_seed_same_numbers_other_seed_other_numbers(compose, tmp_path):
    runs = [train(compose(TINY_SYNTHETIC + [f"seed={seed}"]), tmp_path / str(i)) for i, seed in enumerate((3, 3, 4))]
    histories = [pd.read_csv(tmp_path / str(i) / "history.csv") for i in range(3)]
    np.testing.assert_array_equal(histories[0]["loss"], histories[1]["loss"])
    assert runs[0]["test"]["macro_f1"] == runs[1]["test"]["macro_f1"]
    assert not np.array_equal(histories[0]["loss"], histories[2]["loss"])


def test_user_conll_files_with_entity_monitor_cnn_chars_and_focal_loss(compose, tmp_path):
    paths = {split: write_conll(tmp_path / f"{split}.conll", TINY_SENTENCES * n) for split, n in
             (("train", 4), ("dev", 1), ("test", 1))}
    cfg = compose(["data=conll", *(f"data.{split}={path}" for split, path in paths.items()), "model=tiny",
                   "model.char_encoder=cnn", "loss=focal", "trainer=quick", "trainer.monitor=val_entity_f1",
                   "weighting=inverse_sqrt", "weighting.max_weight=1.5"])
    metrics = train(cfg, tmp_path / "run")
    assert metrics["run"]["monitor"] == "val_entity_f1"
    assert set(metrics["test"]["entity"]["per_type"]) <= {"PER", "LOC"}
    assert max(v["class_weight"] for v in metrics["train_labels"].values()) == pytest.approx(1.5)
    assert "val_entity_f1" in pd.read_csv(tmp_path / "run" / "history.csv").columns


def test_single_label_training_data_is_refused(compose, tmp_path):
    path = write_conll(tmp_path / "o.conll", [(["a", "b"], ["O", "O"])] * 4)
    with pytest.raises(ValueError, match=r"training data has labels \['O'\]: there is nothing to learn"):
        train(compose(["data=conll", f"data.train={path}", f"data.dev={path}", "model=tiny"]), tmp_path / "run")


def test_entity_monitor_needs_span_labels(compose, tmp_path):
    path = write_conll(tmp_path / "pos.conll", [(["a", "b"], ["NOUN", "VERB"])] * 4)
    with pytest.raises(ValueError, match="val_entity_f1 needs IOB/IOB2/IOBES labels"):
        train(compose(["data=conll", f"data.train={path}", f"data.dev={path}", "trainer.monitor=val_entity_f1"]),
              tmp_path / "run")


def test_frequency_weights_warn_in_a_real_run(compose, tmp_path, caplog):
    frequencies = zip(["O", "T1", "T2", "T3", "T4", "T5", "T6"], [0.8, 0.08, 0.05, 0.03, 0.02, 0.015, 0.005])
    overrides = TINY_SYNTHETIC + ["trainer.epochs=1", "weighting=custom"] + [
        f"+weighting.custom.{label}={weight}" for label, weight in frequencies]
    with caplog.at_level(logging.WARNING, logger="tagger.weighting"):
        train(compose(overrides), tmp_path / "run")
    assert "the most frequent label 'O' weighs" in caplog.text


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tagger.train", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=checkout_env())


def test_cli_trains_and_writes_into_the_run_directory(tmp_path):
    result = run_cli(*TINY_SYNTHETIC, f"hydra.run.dir={tmp_path}/out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "out" / "metrics.json").is_file() and (tmp_path / "out" / "checkpoint" / "model.keras").is_file()
    assert "test scores of the best checkpoint" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "override, message",
    [("data.trian=x", "Could not override 'data.trian'"), ("weighting=balancd", "Could not find 'weighting/balancd'"),
     ("data=conll", "data=conll needs a training file: data.train=PATH"), ("data=conll data.train=nope.conll", "nope.conll: no such file")],
)
def test_cli_config_mistakes_get_hydras_message_not_a_traceback(tmp_path, override, message):
    result = run_cli(*override.split(), f"hydra.run.dir={tmp_path}/out", cwd=tmp_path)
    output = result.stdout + result.stderr  # Hydra's console log handler writes to stdout
    assert result.returncode == 1
    assert message in output and "Traceback" not in output


def test_pretrained_embeddings_extend_the_vocabulary_and_stay_frozen(compose, tmp_path, caplog):
    train_file = write_conll(tmp_path / "train.conll", TINY_SENTENCES * 3)
    dev_file = write_conll(tmp_path / "dev.conll", [(["Berlin", "is", "big"], ["B-LOC", "O", "O"])])
    rng = np.random.default_rng(0)
    words = ["john", "lives", "in", "new", "york", "berlin", "unused"]
    vectors = {w: rng.normal(size=6).round(4) for w in words}
    (tmp_path / "glove.txt").write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in vectors.items()))
    cfg = compose(["data=conll", f"data.train={train_file}", f"data.dev={dev_file}", "model=tiny", "trainer=quick",
                   f"model.pretrained_embeddings={tmp_path / 'glove.txt'}", "model.freeze_embeddings=true",
                   "data.lowercase=false"])  # a cased lookup: a cased word takes its lowercase form's vector
    with caplog.at_level(logging.INFO, logger="tagger.train"):
        train(cfg, tmp_path / "run")
    vocab = Vocabularies.load(tmp_path / "run" / "checkpoint" / "vocab.json")
    assert "Berlin" in vocab.words and "big" not in vocab.words  # a dev word with a vector joins the vocabulary
    model = load_model(tmp_path / "run" / "checkpoint" / "model.keras")
    embedding = model.get_layer("word_embedding").embeddings.numpy()
    assert embedding.shape[1] == 6
    np.testing.assert_allclose(embedding[vocab.words.index("Berlin")], vectors["berlin"], rtol=1e-5)
    np.testing.assert_allclose(embedding[vocab.words.index("York")], vectors["york"], rtol=1e-5)
    tokens = [w for s, _ in TINY_SENTENCES for w in s]
    found = sum(w.lower() in vectors for w in tokens) / len(tokens)
    assert f"{100 * found:.1f} % of training tokens found" in caplog.text

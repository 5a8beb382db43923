"""A saved checkpoint used on its own: evaluate and predict in new processes, and broken checkpoints."""

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from tagger.api import Tagger
from tagger.checkpoint import ModelInfo, find_checkpoint_dir, load_checkpoint
from tagger.data.vocab import Vocabularies, Vocabulary
from tests.conftest import TINY_SENTENCES, checkout_env, is_valid_iob2, write_conll

pytestmark = pytest.mark.slow


def run(module, *args, cwd, stdin=None):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=300, env=checkout_env())


def test_evaluate_in_a_new_process_reproduces_the_training_report(tiny_run, tmp_path):
    _, run_dir, metrics = tiny_run
    result = run("tagger.evaluate", f"checkpoint={run_dir}", "data=synthetic", "data.num_sentences=60",
                 "data.max_sentence_length=20", "split=test", f"hydra.run.dir={tmp_path}/eval", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    evaluated = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    for key in ("macro_f1", "micro_f1", "weighted_f1", "accuracy", "oov_rate"):
        assert evaluated["test"][key] == pytest.approx(metrics["test"][key], abs=1e-6)
    for label, scores in metrics["test"]["per_label"].items():
        assert evaluated["test"]["per_label"][label] == pytest.approx(scores, abs=1e-6)
    assert "# Evaluation report" in (tmp_path / "eval" / "report.md").read_text()


def test_evaluate_without_data_scores_what_the_checkpoint_was_trained_on(tiny_run, compose, tmp_path):
    from tagger.evaluate import evaluate

    _, run_dir, metrics = tiny_run
    for split in ("dev", "test"):
        evaluated = evaluate(compose([f"checkpoint={run_dir}", f"split={split}"], config_name="evaluate"),
                             tmp_path / split)
        assert evaluated["run"]["data"] == "synthetic"
        for key in ("macro_f1", "micro_f1", "accuracy", "oov_rate"):
            assert evaluated[split][key] == pytest.approx(metrics[split][key], abs=1e-6)


def test_evaluate_a_conll_file_with_entity_scores(tiny_run, tmp_path):
    test_file = write_conll(tmp_path / "t.conll", [(["zz", "cue1", "abczz"], ["O", "O", "T1"])])
    result = run("tagger.evaluate", f"checkpoint={tiny_run[1]}/checkpoint", "data=conll", f"data.test={test_file}",
                 f"hydra.run.dir={tmp_path}/eval", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    evaluated = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert evaluated["run"]["tokens"] == 3 and evaluated["test"]["per_label"]["T1"]["support"] == 1
    assert evaluated["test"]["oov_rate"] == pytest.approx(2 / 3)  # "zz" and "abczz" are not in the vocabulary


def test_predict_text_from_stdin_prints_one_line_per_token(tiny_run, tmp_path):
    result = run("tagger.predict", f"checkpoint={tiny_run[1]}", "input=-", "input_format=text", cwd=tmp_path,
                 stdin="John lives in New York\n")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines[:5]] == ["John", "lives", "in", "New", "York"]
    assert lines[5:] == [""]
    labels = set(Vocabularies.load(tiny_run[1] / "checkpoint" / "vocab.json").labels.items)
    assert all(line.split("\t")[1] in labels for line in lines[:5])
    assert not (tmp_path / "outputs").exists()


def test_predict_file_keeps_tokens_and_long_sentences_whole(tiny_run, tmp_path):
    words = [f"Word{i}" for i in range(300)]  # longer than any training sentence
    (tmp_path / "in.conll").write_text("\n".join(words) + "\n\nÉtoile\n", encoding="utf-8")
    result = run("tagger.predict", f"checkpoint={tiny_run[1]}", "input=in.conll", "output=out.conll",
                 "output_probs=true", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line.split("\t") for line in (tmp_path / "out.conll").read_text(encoding="utf-8").splitlines()]
    assert [r[0] for r in rows if r != [""]] == words + ["Étoile"]
    assert all(0 < float(r[2]) <= 1 for r in rows if r != [""])


def test_run_directory_or_checkpoint_directory(tiny_run):
    run_dir = tiny_run[1]
    assert find_checkpoint_dir(run_dir) == find_checkpoint_dir(run_dir / "checkpoint") == run_dir / "checkpoint"


def test_incomplete_checkpoint(tiny_run, tmp_path):
    shutil.copytree(tiny_run[1] / "checkpoint", tmp_path / "ckpt")
    (tmp_path / "ckpt" / "config.yaml").unlink()
    with pytest.raises(FileNotFoundError, match="checkpoint is incomplete, missing config.yaml"):
        load_checkpoint(tmp_path / "ckpt")
    with pytest.raises(FileNotFoundError, match="no checkpoint here"):
        load_checkpoint(tmp_path)


def test_vocabulary_that_does_not_match_the_model(tiny_run, tmp_path):
    shutil.copytree(tiny_run[1] / "checkpoint", tmp_path / "ckpt")
    vocab = Vocabularies.load(tmp_path / "ckpt" / "vocab.json")
    smaller = Vocabularies(Vocabulary(vocab.words.items[:-3]), vocab.chars, vocab.labels, vocab.lowercase)
    smaller.save(tmp_path / "ckpt" / "vocab.json")
    with pytest.raises(ValueError, match=r"vocab.json does not belong to model.keras \(words: vocabulary \d+, model \d+"):
        load_checkpoint(tmp_path / "ckpt")


def test_the_checkpoint_records_what_evaluate_and_predict_need(tiny_run, tmp_path):
    cfg, run_dir, _ = tiny_run
    info = load_checkpoint(run_dir).info
    assert info == ModelInfo("softmax", threshold=0.5, max_chars=cfg.data.max_chars, label_scheme=None)  # O, T1..T6
    shutil.copytree(run_dir / "checkpoint", tmp_path / "ckpt")
    record = json.loads((tmp_path / "ckpt" / "vocab.json").read_text())
    Vocabularies.from_json(record).save(tmp_path / "ckpt" / "vocab.json")  # as saved before the record existed
    assert load_checkpoint(tmp_path / "ckpt").info == info  # read from config.yaml
    (tmp_path / "ckpt" / "vocab.json").write_text(json.dumps({**record, "model": {**record["model"], "head": "crf"}}))
    with pytest.raises(ValueError, match=r"the model record in vocab.json \(head 'crf'\) does not match model.keras"):
        load_checkpoint(tmp_path / "ckpt")


def test_predict_missing_input_file_is_one_clear_line(tiny_run, tmp_path):
    result = run("tagger.predict", f"checkpoint={tiny_run[1]}", "input=missing.txt", cwd=tmp_path)
    assert result.returncode == 1
    assert "missing.txt: no such file" in result.stderr and "Traceback" not in result.stderr


def test_training_and_evaluation_write_the_confusion_matrix(tiny_run, compose, tmp_path):
    from tagger.evaluate import evaluate

    run_dir, metrics = tiny_run[1], tiny_run[2]
    table = pd.read_csv(run_dir / "confusion_test.csv", index_col="gold")
    assert table.to_numpy().sum() == sum(v["support"] for v in metrics["test"]["per_label"].values())
    for label, scores in metrics["test"]["per_label"].items():
        assert table.loc[label].sum() == scores["support"]  # row sums: gold counts
        assert table.loc[label, label] == round(scores["recall"] * scores["support"])
    assert (run_dir / "confusion_test.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cfg = compose([f"checkpoint={run_dir}", "data=synthetic", "data.num_sentences=60", "data.max_sentence_length=20",
                   "split=dev"], config_name="evaluate")
    evaluate(cfg, tmp_path)
    assert (tmp_path / "confusion_dev.png").is_file() and (tmp_path / "confusion_dev.csv").is_file()


@pytest.mark.parametrize("policy, support_o, support_new", [("as_o", 3, None), ("ignore", 2, None)])
def test_unknown_gold_labels_as_o_or_ignored(tiny_run, compose, tmp_path, policy, support_o, support_new):
    """support_new: the unknown label's support in the report, None where it is not reported."""
    from tagger.evaluate import evaluate

    test_file = write_conll(tmp_path / "t.conll", [(["zz", "cue1", "abczz"], ["O", "B-NEW", "O"])])
    cfg = compose([f"checkpoint={tiny_run[1]}", "data=conll", f"data.test={test_file}", f"unknown_labels={policy}"],
                  config_name="evaluate")
    scores = evaluate(cfg, tmp_path / "out")["test"]
    assert scores["per_label"]["O"]["support"] == support_o
    assert scores["per_label"].get("B-NEW", {}).get("support") == support_new
    assert sum(label["support"] for label in scores["per_label"].values()) == support_o  # no other gold label


def test_unknown_gold_labels_are_an_error_by_default(tiny_run, tmp_path):
    test_file = write_conll(tmp_path / "t.conll", [(["a", "b", "c"], ["O", "B-NEW", "B-NEW"])])
    result = run("tagger.evaluate", f"checkpoint={tiny_run[1]}", "data=conll", f"data.test={test_file}",
                 f"hydra.run.dir={tmp_path}/eval", cwd=tmp_path)
    assert result.returncode == 1
    assert "labels the checkpoint was not trained on (tokens: {'B-NEW': 2})" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_a_multirun_directory_is_scored_run_by_run(tiny_run, compose, tmp_path):
    from tagger.evaluate import evaluate

    for job, seed in (("0", 1), ("1", 2)):
        shutil.copytree(tiny_run[1] / "checkpoint", tmp_path / "multi" / job / "checkpoint")
        (tmp_path / "multi" / job / ".hydra").mkdir()
        (tmp_path / "multi" / job / ".hydra" / "overrides.yaml").write_text(f"- seed={seed}\n- weighting=balanced\n")
    cfg = compose([f"checkpoint={tmp_path / 'multi'}", "data=synthetic", "data.num_sentences=60",
                   "data.max_sentence_length=20"], config_name="evaluate")
    result = evaluate(cfg, tmp_path / "out")
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert runs["run"].tolist() == [0, 1]
    assert runs["overrides"].tolist() == ["seed=1 weighting=balanced", "seed=2 weighting=balanced"]
    assert runs["macro_f1"].tolist() == pytest.approx([tiny_run[2]["test"]["macro_f1"]] * 2, abs=1e-6)
    assert (tmp_path / "out" / "1" / "metrics.json").is_file() and len(result["runs"]) == 2


def test_logit_adjustment_is_tuned_on_dev_stored_and_applied(compose, tmp_path):
    from tagger.evaluate import evaluate
    from tagger.scoring import TAU_GRID
    from tagger.train import train

    data = ["data=synthetic", "data.num_sentences=60", "data.max_sentence_length=20"]
    metrics = train(compose(data + ["model=tiny", "trainer=quick", "trainer.epochs=3", "trainer.learning_rate=0.01",
                                    "trainer.logit_adjustment=true"]), tmp_path / "run")
    adjustment = json.loads((tmp_path / "run" / "checkpoint" / "adjustment.json").read_text())
    assert adjustment["tau"] in TAU_GRID and len(adjustment["log_priors"]) == 7
    assert metrics["dev_logit_adjusted"]["macro_f1"] >= metrics["dev"]["macro_f1"]  # tau=0 is in the grid
    for apply, expected in ((True, "test_logit_adjusted"), (False, "test")):
        cfg = compose([f"checkpoint={tmp_path / 'run'}", *data, f"logit_adjustment={apply}"], config_name="evaluate")
        evaluated = evaluate(cfg, tmp_path / f"eval_{apply}")
        assert evaluated["test"]["macro_f1"] == pytest.approx(metrics[expected]["macro_f1"], abs=1e-9)
        assert evaluated["run"]["logit_adjustment_tau"] == (adjustment["tau"] if apply else None)


@pytest.mark.parametrize("crf_weighting", ["emission", "sentence"])
def test_crf_head_trains_reloads_and_predicts_valid_spans(compose, tmp_path, crf_weighting):
    from tagger.evaluate import evaluate
    from tagger.train import train

    paths = {split: write_conll(tmp_path / f"{split}.conll", TINY_SENTENCES * n) for split, n in
             (("train", 4), ("dev", 1), ("test", 1))}
    files = [f"data.{split}={path}" for split, path in paths.items()]
    metrics = train(compose(["data=conll", *files, "model=tiny", "model.head=crf", "model.crf_constraints=true",
                             f"model.crf_weighting={crf_weighting}", "weighting=balanced", "trainer=quick",
                             "trainer.epochs=3", "trainer.learning_rate=0.01"]), tmp_path / "run")
    checkpoint = load_checkpoint(tmp_path / "run")
    assert checkpoint.model.get_layer("crf").allowed.sum() < 25  # constraints survive saving
    sentences = [s for s, _ in TINY_SENTENCES] + [["York", "New", "Paris", "Los"] * 5]
    for tags in Tagger(checkpoint).tag(sentences):
        assert is_valid_iob2(tags)
    evaluated = evaluate(compose([f"checkpoint={tmp_path / 'run'}", "data=conll", *files], config_name="evaluate"),
                         tmp_path / "eval")
    assert evaluated["test"]["macro_f1"] == pytest.approx(metrics["test"]["macro_f1"], abs=1e-9)
    assert evaluated["test"]["entity_f1"] == pytest.approx(metrics["test"]["entity_f1"], abs=1e-9)


def test_multi_label_tags_train_evaluate_and_predict(compose, tmp_path):
    from tagger.evaluate import evaluate
    from tagger.train import train

    sentences = [(["Acme", "Bank", "of", "Paris"], ["ORG|LOC", "ORG", "O", "LOC"]),
                 (["Paris", "Hilton", "smiled"], ["PER|LOC", "PER", "O"]),
                 (["the", "Acme", "office"], ["O", "ORG", "O"])]
    paths = {split: write_conll(tmp_path / f"{split}.conll", sentences * n) for split, n in (("train", 6), ("test", 1))}
    files = [f"data.{split}={path}" for split, path in paths.items()] + [f"data.dev={paths['test']}"]
    metrics = train(compose(["data=conll", *files, "data.multi_label=true", "model=tiny", "weighting=balanced",
                             "trainer=quick", "trainer.epochs=4", "trainer.learning_rate=0.02"]), tmp_path / "run")
    assert set(metrics["test"]["per_label"]) == {"ORG", "LOC", "PER"}
    assert metrics["train_labels"]["LOC"]["train_tokens"] == 18  # 3 tokens per copy, 6 copies
    assert {"class_weight", "negative_weight"} <= set(metrics["train_labels"]["LOC"])
    assert not (tmp_path / "run" / "confusion_test.csv").exists()
    tagger = Tagger.load(tmp_path / "run")
    everything, = tagger.tag([["Acme", "Paris"]], threshold=0.0)
    assert everything == ["LOC|ORG|PER", "LOC|ORG|PER"]  # threshold 0: every label
    nothing, = tagger.tag([["Acme", "Paris"]], threshold=1.01)
    assert nothing == ["O", "O"]
    cfg = compose([f"checkpoint={tmp_path / 'run'}", "data=conll", *files, "threshold=0.0"], config_name="evaluate")
    per_label = evaluate(cfg, tmp_path / "eval")["test"]["per_label"]
    assert all(scores["recall"] == 1.0 for scores in per_label.values())

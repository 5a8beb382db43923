"""The Python API against the commands: `Tagger.tag` gives `python -m tagger.predict`'s tags and
probabilities, `Tagger.evaluate` the scores of metrics.json; and the README's Python examples run."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tagger.api import Tagger
from tagger.checkpoint import save_adjustment
from tagger.data.datasets import load_splits
from tagger.data.readers import Corpus
from tests.conftest import TINY_SENTENCES, TINY_SYNTHETIC, checkout_env, is_valid_iob2, readme_blocks, write_conll

pytestmark = pytest.mark.slow


def predict_cli(*args, cwd) -> list[list[list[str]]]:
    """`python -m tagger.predict ARGS output=-`, read back: per sentence, the columns of each token's line."""
    result = subprocess.run([sys.executable, "-m", "tagger.predict", *args, "output=-"], cwd=cwd, capture_output=True,
                            text=True, timeout=300, env=checkout_env())
    assert result.returncode == 0, result.stderr[-3000:]
    return [[line.split("\t") for line in block.splitlines()] for block in result.stdout.split("\n\n") if block]


def synthetic_test_split() -> Corpus:
    return load_splits("synthetic", num_sentences=60, max_sentence_length=20).test


@pytest.fixture(scope="module")
def adjusted_run(tiny_run, tmp_path_factory):
    """A copy of the tiny softmax run with a logit adjustment of tau 1 (ln of the training label shares)."""
    _, run_dir, metrics = tiny_run
    copy = tmp_path_factory.mktemp("adjusted") / "run"
    shutil.copytree(run_dir / "checkpoint", copy / "checkpoint")
    counts = [metrics["train_labels"][label]["train_tokens"] for label in Tagger.load(copy).labels]
    save_adjustment(copy / "checkpoint", 1.0, np.log(np.asarray(counts) / sum(counts)))
    return copy


def test_tag_gives_predicts_tags_and_probabilities_with_the_logit_adjustment(adjusted_run, tmp_path):
    tagger = Tagger.load(adjusted_run)
    sentences = synthetic_test_split().tokens + [["Étoile", "unseen"], [f"w{i}" for i in range(60)]]
    (tmp_path / "in.conll").write_text("\n\n".join("\n".join(s) for s in sentences) + "\n", encoding="utf-8")
    expected = predict_cli(f"checkpoint={adjusted_run}", "input=in.conll", "output_probs=true", cwd=tmp_path)
    tagged = tagger.tag(sentences, probabilities=True)
    assert [[token for token, _, _ in lines] for lines in expected] == sentences
    assert [[tag for _, tag, _ in lines] for lines in expected] == [[tag for tag, _ in s] for s in tagged]
    assert [float(p) for lines in expected for _, _, p in lines] == pytest.approx(
        [p for s in tagged for _, p in s], abs=5e-5)  # predict prints 4 decimals
    assert tagger.tag(sentences) == [[tag for tag, _ in s] for s in tagged]
    unadjusted = tagger.tag(sentences, logit_adjustment=False)
    assert unadjusted != [[tag for tag, _ in s] for s in tagged], "tau 1 changes no tag: the test would not see it"


def test_tag_gives_predicts_viterbi_paths_for_a_crf(tiny_crf_run, tmp_path):
    run_dir = tiny_crf_run[1]
    tagger = Tagger.load(run_dir)
    assert tagger.checkpoint.info.head == "crf"
    lines = [" ".join(tokens) for tokens, _ in TINY_SENTENCES] + ["Paris York New Rome zz " * 8]
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = predict_cli(f"checkpoint={run_dir}", "input=in.txt", "input_format=text", cwd=tmp_path)
    tagged = tagger.tag(lines)
    assert [[tag for _, tag in rows] for rows in expected] == tagged
    assert set(tag for s in tagged for tag in s) > {"O"}
    with pytest.raises(ValueError, match="need a softmax model; this one has a crf head"):
        tagger.tag(lines, probabilities=True)


def test_iob2_data_trains_on_iobes_labels_and_gets_iob2_tags_back(tiny_crf_run):
    """The default data.tag_scheme=auto: the CRF learns the IOBES labels of TINY_SENTENCES (every PER is one
    token), while tags, scores and reports are IOB2, and the entity F1 is seqeval's on the IOB2 tags."""
    from seqeval.metrics import f1_score

    _, run_dir, metrics = tiny_crf_run
    tagger = Tagger.load(run_dir)
    assert tagger.checkpoint.vocab.iobes and set(tagger.labels) == {"O", "S-PER", "B-LOC", "E-LOC", "S-LOC"}
    assert set(metrics["train_labels"]) == set(tagger.labels)
    tokens, gold = zip(*TINY_SENTENCES)
    tagged = tagger.tag(tokens)
    assert set(tag for s in tagged for tag in s) <= {"O", "B-PER", "B-LOC", "I-LOC"} and all(map(is_valid_iob2, tagged))
    assert set(tag for s in tagged for tag in s) > {"O", "B-PER"}, "no multi-token span: I- would go untested"
    for split in ("dev", "test"):  # each split is TINY_SENTENCES once
        assert set(metrics[split]["per_label"]) == {"O", "B-PER", "B-LOC", "I-LOC"}
        assert metrics[split]["entity_f1"] == pytest.approx(f1_score(list(map(list, gold)), tagged), abs=1e-12)


def metrics_json(run_dir) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def as_json(value):
    return json.loads(json.dumps(value))


def test_evaluate_returns_what_metrics_json_holds(tiny_run, tiny_crf_run, tmp_path):
    run_dir = tiny_run[1]
    corpus = synthetic_test_split()
    tagger = Tagger.load(run_dir)
    assert as_json(tagger.evaluate(corpus)) == metrics_json(run_dir)["test"]
    path = write_conll(tmp_path / "test.conll", zip(corpus.tokens, corpus.tags))
    assert as_json(tagger.evaluate(path)) == metrics_json(run_dir)["test"]
    crf_dir = tiny_crf_run[1]
    scores = Tagger.load(crf_dir).evaluate(crf_dir / "test.conll")
    assert as_json(scores) == metrics_json(crf_dir)["test"]
    assert 0 < scores["entity_f1"] and scores["entity"]["per_type"].keys() == {"PER", "LOC"}


def test_evaluate_applies_the_logit_adjustment_as_evaluate_does(adjusted_run, tiny_run, compose, tmp_path):
    from tagger.evaluate import evaluate

    corpus = synthetic_test_split()
    tagger = Tagger.load(adjusted_run)
    data = ["data=synthetic", "data.num_sentences=60", "data.max_sentence_length=20"]
    for apply in (True, False):
        cfg = compose([f"checkpoint={adjusted_run}", *data, f"logit_adjustment={apply}"], config_name="evaluate")
        assert as_json(tagger.evaluate(corpus, logit_adjustment=apply)) == as_json(evaluate(cfg, tmp_path)["test"])
    assert tagger.evaluate(corpus)["macro_f1"] != tagger.evaluate(corpus, logit_adjustment=False)["macro_f1"]


def test_labels_config_and_mistakes(tiny_run):
    cfg, run_dir, metrics = tiny_run
    tagger = Tagger.load(run_dir / "checkpoint")
    assert tagger.labels == ["O", "T1", "T2", "T3", "T4", "T5", "T6"]
    assert tagger.config.data.num_sentences == 60 and tagger.config.seed == cfg.seed
    assert repr(tagger) == f"Tagger({str(run_dir / 'checkpoint')!r}, head=softmax, 7 labels)"
    assert tagger.tag([]) == [] and tagger.tag(["", "zz"])[0] == []
    with pytest.raises(TypeError, match=r"got one string \('zz yy'\); pass a list: tag\(\[text\]\)"):
        tagger.tag("zz yy")
    with pytest.raises(TypeError, match="sentence 1: tokens must be strings, got 3 "):
        tagger.tag([["a"], ["b", 3]])
    with pytest.raises(FileNotFoundError, match="no checkpoint here"):
        Tagger.load(run_dir / "history.csv")


def test_readme_python_examples_run(tiny_run, tiny_crf_run, tmp_path, monkeypatch):
    """The README's Python API example on the tiny softmax and CRF runs, and its training example on tiny data."""
    api, training = readme_blocks("Python API", "python")
    for run_dir in (tiny_run[1], tiny_crf_run[1]):
        test_file = run_dir / "test.conll"  # the CRF run's; the softmax run's test split written here
        if not test_file.is_file():
            corpus = synthetic_test_split()
            test_file = write_conll(tmp_path / "test.conll", zip(corpus.tokens, corpus.tags))
        code = substitute(api, {'"outputs/2026-11-25/12-00-00"': repr(str(run_dir)),
                                '"test.conll"': repr(str(test_file))})
        namespace = {}
        exec(compile(code, "README.md", "exec"), namespace)
        assert namespace["scores"] == Tagger.load(run_dir).evaluate(test_file)
        assert [len(tags) for tags in namespace["tags"]] == [5, 5]
    monkeypatch.chdir(tmp_path)
    small = [override for override in TINY_SYNTHETIC if override != "data=synthetic"]
    namespace = {"SMALL": small}
    exec(compile(substitute(training, {"overrides=[": "overrides=SMALL + ["}), "README.md", "exec"), namespace)
    assert namespace["metrics"] == json.loads((tmp_path / "outputs" / "balanced-seed1" / "metrics.json").read_text())
    assert namespace["cfg"].weighting.scheme.value == "balanced" and namespace["metrics"]["run"]["seed"] == 1


def substitute(code: str, replacements: dict[str, str]) -> str:
    """`code` with each key replaced by its value; each key must occur (a README edit must not silently
    leave the test running something else)."""
    for old, new in replacements.items():
        assert code.count(old) == 1, f"README example: expected {old!r} once"
        code = code.replace(old, new)
    return code

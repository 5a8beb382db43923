"""The exported SavedModel, loaded in a new process that cannot import tagger, tags a held-back file
exactly as `tagger.predict` does: a softmax head with a logit adjustment, a CRF head with span
constraints, lowercased words and the casing feature, multi-label tags; and the README's export command and snippet."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tagger.api import Tagger
from tagger.checkpoint import load_checkpoint, save_adjustment
from tagger.data.readers import decode_utf8, read_untagged
from tagger.data.vocab import UNK
from tagger.serving import export_checkpoint
from tests.conftest import ROOT, TINY_SENTENCES, is_valid_iob2, load_script, write_conll

pytestmark = pytest.mark.slow

# For each {"export": directory, "sentences": [[token, ...], ...]} of the JSON file argv[1], the tags of the
# SavedModel there ("" on padding), as JSON on stdout, in a process where importing tagger fails
LOADER = """
import json, sys
sys.modules["tagger"] = None  # `import tagger` raises ImportError: the SavedModel must need TensorFlow alone
import tensorflow as tf
tagged = []
for job in json.load(open(sys.argv[1], encoding="utf-8")):
    serve = tf.saved_model.load(job["export"]).signatures["serving_default"]
    tokens = tf.ragged.constant(job["sentences"])
    tags = serve(tokens=tokens.to_tensor("<padding>"), lengths=tf.cast(tokens.row_lengths(), tf.int32))["tags"]
    tagged.append([[tag.decode() for tag in row] for row in tags.numpy()])
print(json.dumps(tagged))
"""

DATES = [(["Sales", "rose", "in", "2019"], ["O", "O", "O", "B-DATE"]), (["Q3", "was", "good"], ["B-DATE", "O", "O"])]
# unknown words, words with digits (ASCII and Arabic-Indic), a word longer than max_chars (30)
UNSEEN = ["Zorblax", "1999", "Q7", "\u0663\u0664\u0665\u0666", "Pneumonoultramicroscopicsilicovolcanoconiosis", "NEW"]


def in_a_new_process(jobs, tmp_path) -> list[list[list[str]]]:
    """For each (SavedModel directory, sentences) of `jobs`, the tags the SavedModel gives the sentences,
    loaded by `python -I` (no PYTHONPATH, no current directory on the path) from a directory without tagger."""
    (tmp_path / "jobs.json").write_text(json.dumps([{"export": str(d), "sentences": s} for d, s in jobs]), "utf-8")
    result = subprocess.run([sys.executable, "-I", "-c", LOADER, "jobs.json"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def held_back_file(path, sentences):
    """A CoNLL file of `sentences`, unseen words and a sentence longer than any, read as predict reads it."""
    longest = [word for sentence in sentences for word in sentence] * 2 + UNSEEN
    write_conll(path, [(s, ["O"] * len(s)) for s in [*sentences, UNSEEN, longest]])
    return read_untagged(decode_utf8(path.read_bytes(), path), "conll", source=path)


def softmax_with_adjustment(tiny_run, directory):
    """tiny_run's softmax checkpoint, with a logit adjustment of tau 1 by its training label frequencies."""
    shutil.copytree(tiny_run[1] / "checkpoint", directory)
    checkpoint = load_checkpoint(directory)
    counts = np.array([tiny_run[2]["train_labels"][label]["train_tokens"] for label in checkpoint.vocab.labels.items])
    save_adjustment(directory, 1.0, np.log(counts / counts.sum()))
    return directory


def trained(compose, directory, files, *overrides):
    from tagger.train import train

    train(compose(["data=conll", *files, "model=tiny", "trainer=quick", "trainer.learning_rate=0.02", *overrides]),
          directory)
    return directory


@pytest.fixture(scope="module")
def exports(tiny_run, tmp_path_factory):
    """{head: (checkpoint, held-back sentences, tags of the SavedModel loaded in a new process)}."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from tagger.data.datasets import load_split
    from tests.conftest import CONFIGS

    def compose(overrides):
        with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
            return hydra_compose("train", overrides=overrides)

    tmp = tmp_path_factory.mktemp("export")
    spans = {split: write_conll(tmp / f"{split}.conll", (TINY_SENTENCES + DATES) * n) for split, n in
             (("train", 4), ("dev", 1), ("test", 1))}
    labels = [(["Acme", "Bank", "of", "Paris"], ["ORG|LOC", "ORG", "O", "LOC"]),
              (["Paris", "Hilton", "smiled"], ["PER|LOC", "PER", "O"]), (["the", "Acme", "office"], ["O", "ORG", "O"])]
    sets = {split: write_conll(tmp / f"{split}_sets.conll", labels * n) for split, n in (("train", 6), ("test", 1))}
    checkpoints = {
        "softmax": softmax_with_adjustment(tiny_run, tmp / "softmax"),
        "crf": trained(compose, tmp / "crf", [f"data.{split}={path}" for split, path in spans.items()],
                       "data.lowercase=true", "model.casing=true", "model.head=crf", "model.crf_constraints=true",
                       "trainer.epochs=4"),
        "sigmoid": trained(compose, tmp / "sigmoid", [f"data.{s}={sets[s]}" for s in ("train", "test")],
                           f"data.dev={sets['test']}", "data.multi_label=true", "trainer.epochs=4"),
    }
    test_sentences = {"softmax": load_split("synthetic", "test", num_sentences=60, max_sentence_length=20).tokens,
                      "crf": [s for s, _ in TINY_SENTENCES + DATES], "sigmoid": [s for s, _ in labels]}
    loaded = {head: load_checkpoint(directory) for head, directory in checkpoints.items()}
    assert {head: checkpoint.info.head for head, checkpoint in loaded.items()} == {head: head for head in loaded}
    sentences = {head: held_back_file(tmp / f"{head}.conll", test_sentences[head]) for head in loaded}
    exported = in_a_new_process([(export_checkpoint(checkpoint, tmp / f"{head}_export"), sentences[head])
                                 for head, checkpoint in loaded.items()], tmp)
    return {head: (loaded[head], sentences[head], tags) for head, tags in zip(loaded, exported)}


@pytest.mark.parametrize("head", ["softmax", "crf", "sigmoid"])
def test_the_exported_model_tags_as_predict_does(exports, head):
    checkpoint, sentences, exported = exports[head]
    predicted = Tagger(checkpoint).tag(sentences)
    width = max(map(len, sentences))
    assert exported == [tags + [""] * (width - len(tags)) for tags in predicted]
    assert len(sentences[-1]) > 20  # longer than any training sentence (20 for the softmax's data, 6 for the others)
    assert sum(checkpoint.vocab.word_id(word) == UNK for word in UNSEEN) >= 2
    assert len({tag for tags in predicted for tag in tags}) >= 2


def test_the_logit_adjustment_and_the_span_constraints_are_in_the_export(exports):
    checkpoint, sentences, exported = exports["softmax"]
    unadjusted = Tagger(checkpoint).tag(sentences, logit_adjustment=False)
    assert sum(a != b for tags, plain in zip(exported, unadjusted) for a, b in zip(tags, plain)) > 0
    checkpoint, sentences, exported = exports["crf"]
    assert all(is_valid_iob2([tag for tag in tags if tag]) for tags in exported)


def readme_export_section() -> tuple[str, str]:
    """The README's export command and its Python snippet."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## Export\n", 1)[1].split("\n## ", 1)[0]
    command, snippet = re.findall(r"```(?:python)?\n(.*?)```", section, re.S)[:2]
    return command.strip(), snippet


def test_the_readme_export_command_and_snippet(tiny_run, compose, tmp_path):
    from tagger.export import export

    command, snippet = readme_export_section()
    assert command.startswith(".venv/bin/python -m tagger.export checkpoint=") and "output=tagger-export" in command
    export(compose([f"checkpoint={tiny_run[1]}", f"output={tmp_path / 'tagger-export'}"], config_name="export"))
    result = subprocess.run([sys.executable, "-I", "-c", 'import sys; sys.modules["tagger"] = None\n' + snippet],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    printed = [[pair.rsplit("/", 1) for pair in line.split()] for line in result.stdout.splitlines()]
    sentences = [[word for word, _ in line] for line in printed]
    assert sentences == [["John", "lives", "in", "New", "York"], ["Hi", "!"]]
    assert [[tag for _, tag in line] for line in printed] == Tagger.load(tiny_run[1]).tag(sentences)


def test_export_check_counts_the_tags_equal_to_predicts(tiny_run, tmp_path, capsys):
    sentences = [["cue1", "zz", "Zorblax", "1999"], ["abczz"] * 25, ["cue2"]]
    write_conll(tmp_path / "in.conll", [(s, ["O"] * len(s)) for s in sentences])
    load_script("export_check").main(["--checkpoint", str(tiny_run[1]), "--input", str(tmp_path / "in.conll"),
                                      "--batch-size", "2", "--export", str(tmp_path / "export")])
    result = json.loads(capsys.readouterr().out.splitlines()[-1].removeprefix("export_check: "))
    assert (result["sentences"], result["tokens"], result["equal"], result["sentences_differing"]) == (3, 30, 30, 0)
    assert (tmp_path / "export" / "saved_model.pb").is_file()

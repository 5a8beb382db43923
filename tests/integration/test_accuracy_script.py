"""scripts/accuracy.py: mean +- std over seeds from the runs' metrics.json, and an end-to-end run on tiny data."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, TINY_SENTENCES, load_script, write_conll

ACCURACY = ROOT / "scripts" / "accuracy.py"


def fake_run(directory, dev_entity, test_entity, seconds):
    directory.mkdir(parents=True)
    metrics = {"run": {"train_seconds": seconds, "train_tokens_per_s": 1000.0, "epochs_run": 10},
               "dev": {"entity_f1": dev_entity, "macro_f1": 0.5}, "test": {"entity_f1": test_entity, "macro_f1": 0.4}}
    (directory / "metrics.json").write_text(json.dumps(metrics))


def test_summary_is_mean_and_sample_std_over_seeds(tmp_path, capsys):
    accuracy = load_script("accuracy")
    for seed, (dev, test) in enumerate([(0.80, 0.70), (0.84, 0.74), (0.82, 0.78)]):
        fake_run(tmp_path / "ncbi_disease" / str(seed), dev, test, 100.0 + seed)
    summary = accuracy.summarize(tmp_path)["ncbi_disease"]
    assert summary["seeds"] == 3
    assert summary["dev_entity_f1"]["mean"] == pytest.approx(0.82)
    assert summary["test_entity_f1"]["std"] == pytest.approx(0.04)  # sample std of 0.70, 0.74, 0.78
    assert summary["train_seconds"]["mean"] == pytest.approx(101.0)
    assert "| ncbi_disease | 3 | 82.0 ± 2.0 | 74.0 ± 4.0 | 50.0 ± 0.0 | 40.0 ± 0.0 | 10 | 101 | 1,000 |" in \
        accuracy.table(accuracy.summarize(tmp_path))
    assert accuracy.main(["--summarize", str(tmp_path)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("accuracy: ")
    assert json.loads(last.removeprefix("accuracy: "))["ncbi_disease"]["test_entity_f1"] == pytest.approx(0.74)


def test_missing_data_sets_are_named(tmp_path, capsys):
    with pytest.raises(SystemExit):
        load_script("accuracy").main(["--data-dir", str(tmp_path), "--datasets", "wnut17"])
    assert f"no wnut17 under --data-dir {tmp_path}" in capsys.readouterr().err


@pytest.mark.slow
def test_trains_each_seed_under_the_budget_and_prints_the_table(tmp_path):
    data = tmp_path / "data" / "tiny"
    data.mkdir(parents=True)
    for split in ("train", "dev", "test"):
        write_conll(data / f"{split}.conll", TINY_SENTENCES)
    out = tmp_path / "runs"
    command = [sys.executable, str(ACCURACY), "--data-dir", str(tmp_path / "data"), "--datasets", "tiny",
               "--seeds", "0", "1", "--budget", "30", "--out", str(out), "--", "model=tiny", "trainer=quick"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    for seed in (0, 1):
        run = json.loads((out / "tiny" / str(seed) / "metrics.json").read_text())["run"]
        assert run["seed"] == seed and run["max_time"] == 30 and run["monitor"] == "val_entity_f1"
    assert "| tiny | 2 |" in result.stdout
    line = json.loads(result.stdout.strip().splitlines()[-1].removeprefix("accuracy: "))
    assert set(line["tiny"]) >= {"dev_entity_f1", "test_entity_f1", "dev_macro_f1", "test_macro_f1", "train_seconds"}

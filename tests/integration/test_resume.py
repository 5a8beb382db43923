"""A run killed with SIGKILL mid-training and restarted with the same command ends as if never stopped."""

import json
import subprocess
import sys
import time

import pandas as pd
import pytest

from tests.conftest import checkout_env

pytestmark = pytest.mark.slow

ARGS = ["data=synthetic", "data.num_sentences=200", "data.max_sentence_length=30", "model=tiny", "trainer=quick",
        "trainer.epochs=8", "trainer.batch_size=8", "seed=7",
        # per-epoch randomness and state beyond the weights: unknown-word draws, the annealed learning rate
        "trainer.singleton_unk=0.5", "trainer.word_dropout=0.05", "trainer.anneal_patience=1", "trainer.lr_decay=0.1",
        "trainer.average=0.9"]  # the weights' average: swapped in at each epoch's end, both kept in the backup


def command(run_dir):
    return [sys.executable, "-m", "tagger.train", *ARGS, f"hydra.run.dir={run_dir}"]


def completed_epochs(run_dir) -> int:
    history = run_dir / "history.csv"
    return max(len(history.read_text().splitlines()) - 1, 0) if history.is_file() else 0


def test_killed_run_resumes_to_the_same_best_checkpoint(tmp_path):
    reference = subprocess.run(command(tmp_path / "reference"), cwd=tmp_path, capture_output=True, text=True,
                               timeout=600, env=checkout_env())
    assert reference.returncode == 0, reference.stdout[-3000:]

    run_dir = tmp_path / "killed"
    process = subprocess.Popen(command(run_dir), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=checkout_env())
    deadline = time.monotonic() + 300
    while completed_epochs(run_dir) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.kill()
    process.wait()
    assert process.returncode == -9, "the run ended before it could be killed"
    assert not (run_dir / "metrics.json").exists()
    killed_after = json.loads((run_dir / "backup" / "state.json").read_text())["next_epoch"]
    assert 1 <= killed_after < 8  # 1 when the kill fell between history.csv and the backup of epoch 2

    resumed = subprocess.run(command(run_dir), cwd=tmp_path, capture_output=True, text=True, timeout=600,
                             env=checkout_env())
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    assert f"after epoch {killed_after}" in resumed.stdout
    assert not (run_dir / "backup").exists()

    expected, got = (pd.read_csv(d / "history.csv").drop(columns="train_tokens_per_s")
                     for d in (tmp_path / "reference", run_dir))
    pd.testing.assert_frame_equal(got, expected, rtol=1e-6)
    expected, got = (json.loads((d / "metrics.json").read_text()) for d in (tmp_path / "reference", run_dir))
    assert got["run"]["best_epoch"] == expected["run"]["best_epoch"]
    for split in ("dev", "test"):
        for key in ("macro_f1", "micro_f1", "accuracy"):
            assert got[split][key] == pytest.approx(expected[split][key], abs=1e-6)

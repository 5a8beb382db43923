"""Hydra multiruns end to end: the ready smoke sweep, job independence and failed jobs."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import checkout_env

pytestmark = pytest.mark.slow


def multirun(*args, cwd):
    result = subprocess.run([sys.executable, "-m", "tagger.train", *args], cwd=cwd, capture_output=True, text=True,
                            timeout=600, env=checkout_env())
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def smoke_sweep(tmp_path_factory):
    directory = tmp_path_factory.mktemp("sweep")
    multirun("sweep=smoke", f"hydra.sweep.dir={directory}/multi", cwd=directory)
    return directory / "multi"


def test_smoke_sweep_summarises_every_job(smoke_sweep):
    jobs = pd.read_csv(smoke_sweep / "summary.csv")
    assert len(jobs) == 4 and (jobs["status"] == "ok").all()
    assert jobs["config"].tolist() == ["weighting=none"] * 2 + ["weighting=balanced"] * 2
    for _, job in jobs.iterrows():
        metrics = json.loads((smoke_sweep / str(job["job"]) / "metrics.json").read_text())
        assert job["test_macro_f1"] == pytest.approx(metrics["test"]["macro_f1"])
    balanced = jobs.loc[jobs["config"] == "weighting=balanced", "test_macro_f1"]
    text = (smoke_sweep / "summary.md").read_text()
    assert f"{balanced.mean():.4f} ± {balanced.std():.4f}" in text
    assert (smoke_sweep / "summary.png").read_bytes()[:4] == b"\x89PNG"
    assert (smoke_sweep / "summary_curves.png").read_bytes()[:4] == b"\x89PNG" and "(summary_curves.png)" in text


def test_summarize_rebuilds_the_same_table(smoke_sweep, tmp_path):
    before = (smoke_sweep / "summary.csv").read_text()
    (smoke_sweep / "summary.csv").unlink()
    result = subprocess.run([sys.executable, "-m", "tagger.summarize", str(smoke_sweep)], capture_output=True,
                            text=True, timeout=120, env=checkout_env())
    assert result.returncode == 0, result.stderr
    assert (smoke_sweep / "summary.csv").read_text() == before
    assert "# Sweep summary" in result.stdout


def test_job_order_does_not_change_results_and_failed_jobs_are_recorded(tmp_path):
    # jobs: (3, macro) (3, entity) (3, macro) (3, entity); entity F1 needs IOB labels. The third job runs after a
    # trained and a failed one in the same process, the first after none: any state they leak would show
    multirun("sweep=smoke", "weighting=none", "trainer.epochs=2", "seed=3,3",
             "trainer.monitor=val_macro_f1,val_entity_f1", f"hydra.sweep.dir={tmp_path}/multi", cwd=tmp_path)
    jobs = pd.read_csv(tmp_path / "multi" / "summary.csv")
    assert jobs["status"].tolist() == ["ok", "failed"] * 2
    assert jobs.loc[1, "error"].startswith("ValueError: trainer.monitor=val_entity_f1 needs IOB/IOB2/IOBES labels")
    first, again = (json.loads((tmp_path / "multi" / str(n) / "metrics.json").read_text()) for n in (0, 2))
    assert first["test"] == again["test"] and first["dev"] == again["dev"]
    history = [pd.read_csv(tmp_path / "multi" / str(n) / "history.csv") for n in (0, 2)]
    pd.testing.assert_series_equal(history[0]["loss"], history[1]["loss"])

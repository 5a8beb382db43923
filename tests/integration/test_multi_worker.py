"""trainer.strategy=multi_worker: two worker processes on localhost ports train as one process does on
the same global batch, and only the chief writes the run directory."""

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import ExitStack

import pandas as pd
import pytest

from tests.conftest import ROOT, TINY_SENTENCES, write_conll

pytestmark = pytest.mark.slow

WORKERS = 2
DEADLINE_S = 420  # for both workers, which took 70-120 s on a loaded 2-core machine


def free_ports(count: int) -> list[int]:
    """`count` distinct ports that are free on localhost now (held open together so they differ)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("localhost", 0))
        return [sock.getsockname()[1] for sock in sockets]


def wait_for(workers: list[subprocess.Popen], logs: list, deadline_s: float) -> None:
    """Wait until every worker has ended; fail, with the logs, as soon as one fails or time runs out."""
    def tails():
        return "\n".join(f"--- worker {i} (exit {w.poll()}):\n{log.read_text()[-3000:]}"
                         for i, (w, log) in enumerate(zip(workers, logs)))

    deadline = time.monotonic() + deadline_s
    while any(w.poll() is None for w in workers):
        if any(w.poll() not in (None, 0) for w in workers):
            pytest.fail(f"a worker failed; the others were stopped\n{tails()}")
        if time.monotonic() > deadline:
            pytest.fail(f"the workers had not finished after {deadline_s} s (a worker waiting for another?)\n{tails()}")
        time.sleep(0.2)
    assert all(w.returncode == 0 for w in workers), tails()


def test_two_workers_train_as_one_process_on_the_same_global_batch(tmp_path, compose):
    from tagger.train import train

    data = write_conll(tmp_path / "tiny.conll", TINY_SENTENCES * 8)  # 48 sentences, 6 global batches of 8
    # The default recipe (CRF, SGD with momentum, unknown-word training); no dropout, whose masks are drawn
    # per replica
    overrides = ["data=conll", f"data.train={data}", f"data.dev={data}", "model=tiny", "model.dropout_rate=0",
                 "trainer.epochs=3", "trainer.batch_size=8", "trainer.patience=null", "trainer.verbose=0",
                 "trainer.threads=1"]
    cluster = {"worker": [f"localhost:{port}" for port in free_ports(WORKERS)]}
    run_dir = tmp_path / "two_workers"
    workers, logs = [], []
    try:
        for index in range(WORKERS):
            env = {**os.environ, "CUDA_VISIBLE_DEVICES": "-1",
                   "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
            logs.append(tmp_path / f"worker-{index}.log")
            with open(logs[-1], "w") as log:
                workers.append(subprocess.Popen(
                    [sys.executable, "-m", "tagger.train", *overrides, "trainer.strategy=multi_worker",
                     f"hydra.run.dir={run_dir}"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        one_process = train(compose(overrides), tmp_path / "one_process")  # while the workers train
        wait_for(workers, logs, DEADLINE_S)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

    assert "multi-worker strategy: worker 1 of cluster" in logs[1].read_text()
    to_scratch = "writes its files to the scratch directory"
    assert f"{to_scratch} {run_dir / 'worker-1'}," in logs[1].read_text() and to_scratch not in logs[0].read_text()
    two_workers = pd.read_csv(run_dir / "history.csv")
    single = pd.read_csv(tmp_path / "one_process" / "history.csv")
    assert len(two_workers) == len(single) == 3
    assert single["loss"].iloc[-1] < 0.8 * single["loss"].iloc[0]  # it learns, so a wrong gradient would show
    # each global batch split in two halves, the loss divided by the whole batch's real tokens: the same
    # training up to float rounding
    for column in ("loss", "val_loss"):
        assert two_workers[column].tolist() == pytest.approx(single[column].tolist(), rel=1e-3), column
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["run"]["best_epoch"] == one_process["run"]["best_epoch"]
    assert (run_dir / "checkpoint" / "model.keras").is_file()
    assert not (run_dir / "worker-1").exists()  # worker 1 wrote its files to a scratch directory, removed at the end

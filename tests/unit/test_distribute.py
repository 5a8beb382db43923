"""The cluster of a multi-worker run, from TF_CONFIG or a Slurm job step, and where each worker writes."""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import tensorflow as tf

from tagger.distribute import cluster_resolver, files_dir

# srun --nodes=2 --ntasks=3: two tasks on node1, one on node2; this process is the second task
SLURM_STEP = {"SLURM_PROCID": "1", "SLURM_STEP_NUM_TASKS": "3", "SLURM_STEP_NODELIST": "node[1-2]",
              "SLURM_STEP_TASKS_PER_NODE": "2,1"}


def in_environment(monkeypatch, variables: dict) -> None:
    for name in ("TF_CONFIG", *SLURM_STEP):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


def test_tf_config_names_the_cluster_and_this_task(monkeypatch):
    cluster = {"worker": ["host1:2222", "host2:2222"]}
    tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 1}})
    in_environment(monkeypatch, {"TF_CONFIG": tf_config, **SLURM_STEP})  # TF_CONFIG wins over Slurm
    resolver = cluster_resolver()
    assert resolver.cluster_spec().as_dict() == cluster
    assert (resolver.task_type, resolver.task_id) == ("worker", 1)


def test_a_slurm_job_step_on_cpu_nodes_gives_every_task_a_worker(monkeypatch):
    in_environment(monkeypatch, SLURM_STEP)
    resolver = cluster_resolver()
    # TensorFlow's resolver, left to count GPUs, fails on a node without them
    assert resolver.cluster_spec().as_dict() == {"worker": ["node1:8888", "node1:8889", "node2:8888"]}
    assert (resolver.task_type, resolver.task_id) == ("worker", 1)


def test_without_a_cluster_multi_worker_says_how_to_describe_one(monkeypatch):
    in_environment(monkeypatch, {"SLURM_PROCID": "0"})  # inside an allocation, but not a job step
    with pytest.raises(ValueError, match="neither TF_CONFIG nor a Slurm job step.*trainer.strategy=mirrored"):
        cluster_resolver()


def test_only_the_chief_writes_the_run_directory():
    run_dir = Path("outputs/run")
    assert files_dir(run_dir, tf.distribute.get_strategy()) == run_dir
    other_worker = SimpleNamespace(extended=SimpleNamespace(should_checkpoint=False),
                                   cluster_resolver=SimpleNamespace(task_id=2))
    assert files_dir(run_dir, other_worker) == run_dir / "worker-2"

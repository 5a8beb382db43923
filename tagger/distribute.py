"""tf.distribute: the strategy a run asks for (one device, the devices of one machine, or the workers of
a cluster), how a dataset of global batches is split among the replicas, sums over the replicas of the
global batch, which worker of a multi-worker run writes the run's files, and the decisions its workers
share."""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import tensorflow as tf

from tagger.options import STRATEGIES

log = logging.getLogger(__name__)

# The environment variables that say a process is one task of a Slurm job step (srun)
SLURM_STEP = ("SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_STEP_NODELIST", "SLURM_STEP_TASKS_PER_NODE")


def strategy_for(name: str) -> tf.distribute.Strategy:
    """`default`: TensorFlow's current strategy (one device); `mirrored`: data parallelism over every
    visible GPU (or, without one, every logical CPU device); `multi_worker`: data parallelism over the
    workers of a cluster (`multi_worker_strategy`)."""
    if name not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {name!r}")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "multi_worker":
        return multi_worker_strategy()
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    log.info("mirrored strategy over %s", ", ".join(d.name for d in devices))
    return tf.distribute.MirroredStrategy([d.name for d in devices])


def cluster_source(environ) -> str:
    """Where the cluster of a multi-worker run is described: `TF_CONFIG` when that variable is set,
    else `slurm` inside a Slurm job step.

    >>> cluster_source({"TF_CONFIG": "{}", "SLURM_PROCID": "0"}), cluster_source(dict.fromkeys(SLURM_STEP, "0"))
    ('TF_CONFIG', 'slurm')
    """
    if "TF_CONFIG" in environ:
        return "TF_CONFIG"
    if all(name in environ for name in SLURM_STEP):
        return "slurm"
    raise ValueError(
        "trainer.strategy=multi_worker needs a cluster, and this process has neither TF_CONFIG nor a Slurm job "
        "step's variables (" + ", ".join(SLURM_STEP) + "). Start every worker with TF_CONFIG set "
        "(e.g. TF_CONFIG='{\"cluster\": {\"worker\": [\"host1:12345\", \"host2:12345\"]}, "
        "\"task\": {\"type\": \"worker\", \"index\": 0}}' on host1, index 1 on host2), or with srun in a Slurm job; "
        "on one machine use trainer.strategy=mirrored")


def cluster_resolver() -> tf.distribute.cluster_resolver.ClusterResolver:
    """The cluster of a multi-worker run and this process's task in it, from `TF_CONFIG` or, without it,
    from the Slurm job step (a worker per task, on ports 8888, 8889, ... of each node)."""
    if cluster_source(os.environ) == "TF_CONFIG":
        return tf.distribute.cluster_resolver.TFConfigClusterResolver()
    # TensorFlow's Slurm resolver lists a task only if it can give it a GPU (it gives none on CPU nodes and
    # fails with 0 GPUs). With auto_set_gpu=False that allocation sets nothing, so one nominal GPU per task
    # keeps every task, and each task uses the devices Slurm gives it (--gpus-per-task).
    return tf.distribute.cluster_resolver.SlurmClusterResolver(
        gpus_per_node=int(os.environ["SLURM_STEP_NUM_TASKS"]), gpus_per_task=1, auto_set_gpu=False)


class MultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """MultiWorkerMirroredStrategy whose `reduce` takes what Keras 3.15's `fit` gives it.

    Keras reduces every scalar a training or test step returns (the loss) with `reduce("MEAN", value,
    axis=0)`, which TensorFlow refuses for a scalar ("Invalid reduction dimension 0 for input with 0
    dimensions"; keras-team/keras#20585): here a scalar is reduced across the replicas, as `axis=None`
    does. (Those per-step values only feed the progress bar: the epoch's figures come from Keras'
    metric variables, which the strategy sums over every replica of every worker.)
    """

    def reduce(self, reduce_op, value, axis=None):
        if axis is not None and value.shape.rank == 0:
            axis = None
        return super().reduce(reduce_op, value, axis)


@functools.cache
def multi_worker_strategy() -> tf.distribute.MultiWorkerMirroredStrategy:
    """`MultiWorkerStrategy` over the cluster of `cluster_resolver`. One per process: TensorFlow sets up its
    collective communication once, so later runs in the process (a sweep's jobs) share it."""
    resolver = cluster_resolver()
    strategy = MultiWorkerStrategy(cluster_resolver=resolver)
    log.info("multi-worker strategy: %s %s of cluster %s, %d replicas in sync", resolver.task_type,
             resolver.task_id, resolver.cluster_spec().as_dict(), strategy.num_replicas_in_sync)
    return strategy


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    """Whether `strategy` spans several processes, whose decisions (stop, resume) must agree."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def files_dir(run_dir: Path, strategy: tf.distribute.Strategy) -> Path:
    """Where this process writes the run's files: `run_dir` itself, except on the workers of a
    multi-worker run other than the chief, which write theirs to the scratch directory
    `run_dir/worker-N` (as Keras' multi-worker guide has them do), so that two processes never
    write one file."""
    if strategy.extended.should_checkpoint:  # False only on a multi-worker run's other workers
        return run_dir
    scratch = run_dir / f"worker-{strategy.cluster_resolver.task_id}"
    log.info("not the chief: this worker writes its files to the scratch directory %s, removed at the end", scratch)
    return scratch


def split_by_batch(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """`dataset` (of global batches) for a strategy to distribute: every worker builds every global batch,
    in the same (seed, epoch) order, and keeps its replicas' slices of it (tf.data's DATA auto-shard
    policy, which also spares TensorFlow looking for files to shard a generator by)."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def summed_over_replicas(value):
    """`value` summed over the replicas of a tf.distribute strategy (itself outside one).

    Each replica then divides by the real tokens of the whole global batch, and the gradients that
    the strategy sums across replicas are those of the global weighted mean.
    """
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        return context.all_reduce(tf.distribute.ReduceOp.SUM, value)
    return value


def gathered_over_replicas(value: float, strategy: tf.distribute.Strategy) -> list[float]:
    """The `value` that each replica of `strategy` holds, in replica order: every worker of a multi-worker
    run gets the same list, so that decisions made from it agree."""
    per_replica = strategy.experimental_distribute_values_from_function(lambda _: tf.constant([value], tf.float32))
    return strategy.gather(per_replica, axis=0).numpy().tolist()


def build_from_local_batches(model) -> None:
    """Make `model` (compiled under MultiWorkerMirroredStrategy) build its training state from this worker's
    own part of a batch.

    Keras 3.15's `fit` and `evaluate` begin by reducing their first distributed batch across every replica
    (`strategy.reduce`) to read its shapes, and MultiWorkerMirroredStrategy cannot reduce a nested batch
    such as ({words, chars}, labels, weights): it fails with "Attempt to convert a value ({'words':
    PerReplica...}) with an unsupported type" (keras-team/keras#20329, #20585). The shapes Keras needs are
    those of any one replica's part, which needs no communication at all.
    """
    import keras

    strategy = model.distribute_strategy

    def local_spec(value):  # any batch size: this worker's part of a batch may be empty
        local = strategy.experimental_local_results(value)[0]
        return keras.KerasTensor((None, *local.shape[1:]), local.dtype)

    def build(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = keras.tree.map_structure(local_spec, next(batches))
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    model._maybe_symbolic_build = build

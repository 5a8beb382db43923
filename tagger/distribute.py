"""tf.distribute: the strategy a run asks for, and sums over the replicas of the global batch."""

from __future__ import annotations

import logging

import tensorflow as tf

from tagger.options import STRATEGIES

log = logging.getLogger(__name__)


def strategy_for(name: str) -> tf.distribute.Strategy:
    """`default`: TensorFlow's current strategy (one device); `mirrored`: data parallelism over every
    visible GPU (or, without one, every logical CPU device)."""
    if name not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {name!r}")
    if name == "default":
        return tf.distribute.get_strategy()
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    log.info("mirrored strategy over %s", ", ".join(d.name for d in devices))
    return tf.distribute.MirroredStrategy([d.name for d in devices])


def summed_over_replicas(value):
    """`value` summed over the replicas of a tf.distribute strategy (itself outside one).

    Each replica then divides by the real tokens of the whole global batch, and the gradients that
    the strategy sums across replicas are those of the global weighted mean.
    """
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        return context.all_reduce(tf.distribute.ReduceOp.SUM, value)
    return value

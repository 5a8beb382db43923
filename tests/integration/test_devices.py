"""Distribution and mixed precision, on the CPU: two logical devices stand in for two GPUs."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

SCRIPT = r"""
import json, logging, sys
logging.basicConfig(level=logging.INFO, force=True)
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from hydra import compose, initialize_config_dir
from tagger.train import train
overrides = ["data=synthetic", "data.num_sentences=64", "data.max_sentence_length=20", "model=tiny",
             "model.dropout_rate=0", "trainer=quick", "trainer.epochs=2", "trainer.clipnorm=null", "weighting=balanced"]
results = {}
with initialize_config_dir(config_dir=sys.argv[1], version_base="1.3"):
    for name, extra in (("single", []), ("mirrored", ["trainer.strategy=mirrored"]),
                        ("mixed", ["trainer.mixed_precision=true"])):
        metrics = train(compose("train", overrides=overrides + extra), f"{sys.argv[2]}/{name}")
        history = open(f"{sys.argv[2]}/{name}/history.csv").read().splitlines()
        loss = [float(row.split(",")[history[0].split(",").index("loss")]) for row in history[1:]]
        results[name] = {"loss": loss, "dev_macro_f1": metrics["dev"]["macro_f1"]}
print("RESULTS" + json.dumps(results))
"""


def test_mirrored_over_two_devices_and_mixed_precision_train_like_one_device(tmp_path):
    from tests.conftest import CONFIGS

    result = subprocess.run([sys.executable, "-c", SCRIPT, str(CONFIGS), str(tmp_path)], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "mirrored strategy over /device:CPU:0, /device:CPU:1" in result.stdout + result.stderr
    results = json.loads(result.stdout.split("RESULTS")[1])
    # same batches, the loss divided by the global batch's tokens: the same training, up to float rounding
    assert results["mirrored"]["loss"] == pytest.approx(results["single"]["loss"], rel=1e-3)
    assert results["mixed"]["loss"] == pytest.approx(results["single"]["loss"], rel=2e-2)

"""trainer.tensorboard=true: Keras' TensorBoard logs in the run directory, with the dev scores of
every epoch (those of history.csv, and each label's F1)."""

import importlib.util
import shlex

import pandas as pd
import pytest

from tagger.fitting import TENSORBOARD
from tests.conftest import readme_blocks

pytestmark = pytest.mark.slow


def scalars(directory) -> dict[str, dict[int, float]]:
    """tag -> {step: value} of every scalar in the event files of `directory`."""
    import tensorflow as tf

    found: dict[str, dict[int, float]] = {}
    for path in sorted(directory.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                found.setdefault(value.tag, {})[event.step] = float(tf.make_ndarray(value.tensor))
    return found


def test_the_readme_command_is_the_one_tested():
    train, board = (shlex.split(line) for line in readme_blocks("Learning curves and TensorBoard")[0].splitlines())
    assert train[0] == "tagger-train" and [a for a in train[1:] if not a.startswith("hydra.run.dir=")] == [
        "trainer.tensorboard=true"]  # what tiny_crf_run sets, where tensorboard is installed
    run_dir = next(a.split("=", 1)[1] for a in train if a.startswith("hydra.run.dir="))
    assert board == ["tensorboard", "--logdir", f"{run_dir}/{TENSORBOARD}"]


def test_event_files_hold_the_dev_scores_of_every_epoch(tiny_crf_run):
    pytest.importorskip("tensorboard", reason="trainer.tensorboard=true needs the tensorboard package")
    _, run_dir, metrics = tiny_crf_run
    history = pd.read_csv(run_dir / "history.csv")
    validation, train = scalars(run_dir / TENSORBOARD / "validation"), scalars(run_dir / TENSORBOARD / "train")
    epochs = history["epoch"].tolist()
    assert epochs == [0, 1]
    for column in ("val_macro_f1", "val_entity_f1", "val_micro_f1", "val_accuracy", "val_loss"):
        logged = validation[f"epoch_{column.removeprefix('val_')}"]
        assert [logged[e] for e in epochs] == pytest.approx(history[column].tolist(), abs=1e-6)
    assert [train["epoch_loss"][e] for e in epochs] == pytest.approx(history["loss"].tolist(), abs=1e-6)
    assert len(set(history["val_entity_f1"])) == 2  # the epochs differ, so a shifted step would show
    # each label's dev F1; at the best epoch, that of the best checkpoint's dev scores in metrics.json
    best = metrics["run"]["best_epoch"] - 1
    per_label = metrics["dev"]["per_label"]
    assert {tag for tag in validation if tag.startswith("epoch_f1/")} == {f"epoch_f1/{label}" for label in per_label}
    for label, scores in per_label.items():
        assert validation[f"epoch_f1/{label}"][best] == pytest.approx(scores["f1"], abs=1e-6)


def test_without_the_tensorboard_package_training_stops_with_advice(compose, tmp_path, monkeypatch):
    from tagger.train import train
    from tests.conftest import TINY_SYNTHETIC

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "tensorboard" else real_find_spec(name, *args))
    with pytest.raises(ValueError, match=r"trainer.tensorboard=true needs the tensorboard package.*pip install"):
        train(compose(TINY_SYNTHETIC + ["trainer.tensorboard=true"]), tmp_path / "run")
    assert not (tmp_path / "run" / "history.csv").exists()

"""A saved checkpoint directory: model.keras, vocab.json and config.yaml, enough to use the model alone."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from omegaconf import DictConfig, OmegaConf

import tagger.model  # noqa: F401  (registers the custom layers that saved models hold)
from tagger.data.vocab import Vocabularies
from tagger.reports import atomic_path, write_atomically

FILES = ("model.keras", "vocab.json", "config.yaml")
ADJUSTMENT = "adjustment.json"  # optional: {"tau": t, "log_priors": [...]} of a tuned logit adjustment


@dataclass
class Checkpoint:
    model: keras.Model
    vocab: Vocabularies
    config: DictConfig  # the training config, resolved
    path: Path
    tau: float | None = None  # logit adjustment tuned on dev, if any
    log_priors: np.ndarray | None = None

    @property
    def max_chars(self) -> int | None:
        return self.config.data.max_chars

    @property
    def logit_shift(self) -> np.ndarray | None:
        """tau ln prior, to subtract from the log-probabilities, or None without an adjustment."""
        return None if self.tau is None else self.tau * self.log_priors


def save_model(model: keras.Model, path: Path) -> None:
    """Save `model` to `path` (a .keras file) through a temporary file: a crash never leaves half a model."""
    with atomic_path(path) as temporary:
        model.save(temporary)


def load_model(path: Path) -> keras.Model:
    """The model saved at `path`, for prediction (uncompiled)."""
    return keras.models.load_model(path, compile=False)


def save_adjustment(directory: Path, tau: float, log_priors: np.ndarray) -> None:
    write_atomically(Path(directory) / ADJUSTMENT, json.dumps({"tau": tau, "log_priors": np.asarray(log_priors).tolist()}))


def find_checkpoint_dir(path: str | Path) -> Path:
    """`path` itself when it holds the checkpoint files, else its `checkpoint/` (a training run directory)."""
    path = Path(path)
    for candidate in (path, path / "checkpoint"):
        if (candidate / "model.keras").exists() or (candidate / "vocab.json").exists():
            return candidate
    raise FileNotFoundError(f"{path}: no checkpoint here; expected a directory with {', '.join(FILES)} "
                            "or a training run directory with checkpoint/ inside")


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Load and cross-check a checkpoint directory (or the run directory around it)."""
    directory = find_checkpoint_dir(path)
    missing = [name for name in FILES if not (directory / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{directory}: checkpoint is incomplete, missing {', '.join(missing)}")
    vocab = Vocabularies.load(directory / "vocab.json")
    model = load_model(directory / "model.keras")
    sizes = {"words": (len(vocab.words), model.get_layer("word_embedding").input_dim),
             "labels": (len(vocab.labels), model.output_shape[-1])}
    if "char_encoder" in [layer.name for layer in model.layers]:
        sizes["chars"] = (len(vocab.chars), model.get_layer("char_encoder").num_chars)
    mismatched = [f"{name}: vocabulary {v}, model {m}" for name, (v, m) in sizes.items() if v != m]
    if mismatched:
        raise ValueError(f"{directory}: vocab.json does not belong to model.keras ({'; '.join(mismatched)})")
    checkpoint = Checkpoint(model, vocab, OmegaConf.load(directory / "config.yaml"), directory)
    if (directory / ADJUSTMENT).is_file():
        adjustment = json.loads((directory / ADJUSTMENT).read_text())
        checkpoint.tau, checkpoint.log_priors = float(adjustment["tau"]), np.asarray(adjustment["log_priors"])
        if len(checkpoint.log_priors) != len(vocab.labels):
            raise ValueError(f"{directory}: {ADJUSTMENT} has {len(checkpoint.log_priors)} priors for "
                             f"{len(vocab.labels)} labels")
    return checkpoint

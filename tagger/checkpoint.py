"""A saved checkpoint directory: model.keras, vocab.json and config.yaml, enough to use the model alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
from omegaconf import DictConfig, OmegaConf

from tagger.data.vocab import Vocabularies

FILES = ("model.keras", "vocab.json", "config.yaml")


@dataclass
class Checkpoint:
    model: keras.Model
    vocab: Vocabularies
    config: DictConfig  # the training config, resolved
    path: Path

    @property
    def max_chars(self) -> int | None:
        return self.config.data.max_chars


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
    model = keras.models.load_model(directory / "model.keras", compile=False)
    sizes = {"words": (len(vocab.words), model.get_layer("word_embedding").input_dim),
             "labels": (len(vocab.labels), model.output_shape[-1])}
    if "char_encoder" in [layer.name for layer in model.layers]:
        sizes["chars"] = (len(vocab.chars), model.get_layer("char_encoder").num_chars)
    mismatched = [f"{name}: vocabulary {v}, model {m}" for name, (v, m) in sizes.items() if v != m]
    if mismatched:
        raise ValueError(f"{directory}: vocab.json does not belong to model.keras ({'; '.join(mismatched)})")
    return Checkpoint(model, vocab, OmegaConf.load(directory / "config.yaml"), directory)

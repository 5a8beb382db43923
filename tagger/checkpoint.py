"""A saved checkpoint directory, enough to use the model alone: model.keras; vocab.json, which
also holds the model's record (`ModelInfo`: head, decision threshold, character limit, label
scheme); config.yaml, the training config, kept for the record; adjustment.json when a logit
adjustment was tuned."""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from omegaconf import DictConfig, OmegaConf

from tagger.data.tags import span_scheme
from tagger.data.vocab import Vocabularies
from tagger.options import AUTO, MULTI_LABEL_HEAD, choose_recipe
from tagger.reports import atomic_path, write_atomically

FILES = ("model.keras", "vocab.json", "config.yaml")
ADJUSTMENT = "adjustment.json"  # optional: {"tau": t, "log_priors": [...]} of a tuned logit adjustment
MODEL_INFO_KEY = "model"  # the key of the `ModelInfo` record in vocab.json

if TYPE_CHECKING:  # Keras is imported where a model is loaded, so that reading a record needs no TensorFlow
    import keras


@dataclass(frozen=True)
class ModelInfo:
    """What evaluate and predict need to know of a trained model besides its weights and vocabulary."""

    head: str  # softmax, crf, or sigmoid (multi-label tags)
    threshold: float = 0.5  # multi-label tags: a label is predicted when its probability reaches this
    max_chars: int | None = None  # words are cut to this many characters for the character encoder
    label_scheme: str | None = None  # IOB2 or IOBES span labels, None for other labels

    @property
    def multi_label(self) -> bool:
        return self.head == MULTI_LABEL_HEAD

    @classmethod
    def from_training_config(cls, config: dict, labels) -> ModelInfo:
        """The record of a checkpoint saved before there was one, from its training config (a dict)."""
        model, data = config.get("model", {}), config.get("data", {})
        head = MULTI_LABEL_HEAD if data.get("multi_label") else model.get("head", "softmax")
        if head == AUTO:  # chosen from the labels when training started, by the same rule
            head = choose_recipe(labels, head=AUTO, monitor=config.get("trainer", {}).get("monitor", AUTO),
                                 loss=config.get("loss", {}).get("name", "crossentropy"),
                                 logit_adjustment=config.get("trainer", {}).get("logit_adjustment", False)).head
        return cls(head, model.get("threshold", 0.5), data.get("max_chars"), span_scheme(labels))


@dataclass
class Checkpoint:
    model: keras.Model
    vocab: Vocabularies
    info: ModelInfo
    path: Path
    tau: float | None = None  # logit adjustment tuned on dev, if any
    log_priors: np.ndarray | None = None

    @property
    def logit_shift(self) -> np.ndarray | None:
        """tau ln prior, to subtract from the log-probabilities, or None without an adjustment."""
        return None if self.tau is None else self.tau * self.log_priors


def save_record(directory: Path, vocab: Vocabularies, info: ModelInfo, config_yaml: str) -> None:
    """vocab.json (the vocabularies and the model's record) and config.yaml (`config_yaml`, the
    training config) into the checkpoint `directory`; the model itself comes with `save_model`."""
    directory.mkdir(parents=True, exist_ok=True)
    record = {**vocab.to_json(), MODEL_INFO_KEY: asdict(info)}
    write_atomically(directory / "vocab.json", json.dumps(record, ensure_ascii=False, indent=1))
    write_atomically(directory / "config.yaml", config_yaml)


def save_model(model: keras.Model, path: Path) -> None:
    """Save `model` to `path` (a .keras file) through a temporary file: a crash never leaves half a model."""
    with atomic_path(path) as temporary:
        model.save(temporary)


def load_model(path: Path) -> keras.Model:
    """The model saved at `path` (a .keras file), uncompiled.

    Not `keras.models.load_model`: it rebuilds the model inside Keras' object-sharing scope, which
    knows objects by `id()`, and every `Bidirectional` serialises a throwaway LSTM while it is built.
    Once Python reuses a freed throwaway's address, a later BiLSTM is handed an earlier one's
    backward LSTM and loading fails at random ("Forward layer and backward layer should have
    different `go_backwards` value"). tagger's models share no layer, so the config is rebuilt
    without that scope and the weights are read into it.
    """
    import keras

    import tagger.model  # noqa: F401  (registers the custom layers that saved models hold)

    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    model = keras.saving.deserialize_keras_object({**config, "compile_config": None})
    model.load_weights(path)
    return model


def save_adjustment(directory: Path, tau: float, log_priors: np.ndarray) -> None:
    write_atomically(Path(directory) / ADJUSTMENT, json.dumps({"tau": tau, "log_priors": np.asarray(log_priors).tolist()}))


def training_config(directory: str | Path) -> DictConfig:
    """The training config a checkpoint `directory` was saved with (its config.yaml)."""
    return OmegaConf.load(Path(directory) / "config.yaml")


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
    record = json.loads((directory / "vocab.json").read_text(encoding="utf-8"))
    vocab = Vocabularies.from_json(record)
    model = load_model(directory / "model.keras")
    layers = [layer.name for layer in model.layers]
    sizes = {"words": (len(vocab.words), model.get_layer("word_embedding").input_dim),
             "labels": (len(vocab.labels), model.output_shape[-1])}
    if "char_encoder" in layers:
        sizes["chars"] = (len(vocab.chars), model.get_layer("char_encoder").num_chars)
    mismatched = [f"{name}: vocabulary {v}, model {m}" for name, (v, m) in sizes.items() if v != m]
    if mismatched:
        raise ValueError(f"{directory}: vocab.json does not belong to model.keras ({'; '.join(mismatched)})")
    if MODEL_INFO_KEY in record:
        info = ModelInfo(**record[MODEL_INFO_KEY])
    else:
        config = OmegaConf.to_container(training_config(directory))
        info = ModelInfo.from_training_config(config, vocab.labels.items)
    if info.multi_label != vocab.multi_label or (info.head == "crf") != ("crf" in layers):
        raise ValueError(f"{directory}: the model record in vocab.json (head {info.head!r}) does not match "
                         f"model.keras and the vocabulary (CRF layer: {'crf' in layers}, multi-label tags: "
                         f"{vocab.multi_label}): its files come from different runs; use one run's checkpoint/ whole")
    checkpoint = Checkpoint(model, vocab, info, directory)
    if (directory / ADJUSTMENT).is_file():
        adjustment = json.loads((directory / ADJUSTMENT).read_text())
        checkpoint.tau, checkpoint.log_priors = float(adjustment["tau"]), np.asarray(adjustment["log_priors"])
        if len(checkpoint.log_priors) != len(vocab.labels):
            raise ValueError(f"{directory}: {ADJUSTMENT} has {len(checkpoint.log_priors)} priors for "
                             f"{len(vocab.labels)} labels")
    return checkpoint

"""Shared fixtures and helpers: composing the real Hydra configs, tiny training runs (softmax and
CRF), tiny tagged corpora written to disk, the environment of a subprocess, and a check of IOB2 tag
sequences."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def compose():
    """compose(overrides) -> the train config as `python -m tagger.train OVERRIDES` would see it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from tagger.schema import register_configs

    register_configs()

    def _compose(overrides=(), config_name="train"):
        with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
            return hydra_compose(config_name=config_name, overrides=list(overrides))

    return _compose


def checkout_env() -> dict[str, str]:
    """os.environ with this checkout first on PYTHONPATH: a subprocess then imports the tagger under test,
    not the one an editable install elsewhere points at."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def readme_blocks(section: str, language: str = "") -> list[str]:
    """The fenced code blocks (```LANGUAGE) of the README section headed `## SECTION`, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    return re.findall(rf"^```{language}\n(.*?)^```$", text[start:end if end != -1 else None], flags=re.M | re.S)


def load_script(name: str):
    """The module of scripts/NAME.py, loaded from its path (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TINY_SYNTHETIC = ["data=synthetic", "data.num_sentences=60", "data.max_sentence_length=20", "model=tiny",
                  "trainer=quick"]


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """(config, run directory, metrics) of one tiny training run, shared by the tests that only read it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from tagger.train import train

    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        # learning rate 0.01: two epochs then predict labels other than O, so that the scores are not all 0
        cfg = hydra_compose("train", overrides=TINY_SYNTHETIC + ["weighting=balanced", "trainer.eval_batch_size=1000",
                                                                 "trainer.learning_rate=0.01"])
    output_dir = tmp_path_factory.mktemp("tiny_run")
    return cfg, output_dir, train(cfg, output_dir)


@pytest.fixture(scope="session")
def tiny_crf_run(tmp_path_factory):
    """(config, run directory, metrics) of one tiny CRF run (IOB2 labels: the recipe picks a CRF and dev entity
    F1) on CoNLL files of TINY_SENTENCES, kept in the run directory as train/dev/test.conll; with TensorBoard
    logs where the tensorboard package is installed."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from tagger.train import train

    output_dir = tmp_path_factory.mktemp("tiny_crf_run")
    files = [f"data.{split}={write_conll(output_dir / f'{split}.conll', TINY_SENTENCES * copies)}"
             for split, copies in (("train", 4), ("dev", 1), ("test", 1))]
    tensorboard = importlib.util.find_spec("tensorboard") is not None
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        # learning rate 0.05: after two epochs most tags are right, not all (dev entity F1 0.78)
        cfg = hydra_compose("train", overrides=["data=conll", *files, "model=tiny", "trainer=quick",
                                                "trainer.learning_rate=0.05", f"trainer.tensorboard={tensorboard}"])
    return cfg, output_dir, train(cfg, output_dir)


def write_conll(path: Path, sentences) -> Path:
    """Write [(tokens, tags), ...] as `token<TAB>tag` lines with blank lines between sentences."""
    path.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in zip(*s)) for s in sentences) + "\n", encoding="utf-8")
    return path


TINY_SENTENCES = [
    (["John", "lives", "in", "New", "York"], ["B-PER", "O", "O", "B-LOC", "I-LOC"]),
    (["Mary", "went", "to", "Paris"], ["B-PER", "O", "O", "B-LOC"]),
    (["the", "cat", "sat"], ["O", "O", "O"]),
    (["Ann", "and", "Bob", "met", "in", "Rome"], ["B-PER", "O", "B-PER", "O", "O", "B-LOC"]),
    (["we", "saw", "Los", "Angeles", "today"], ["O", "O", "B-LOC", "I-LOC", "O"]),
    (["Tom", "likes", "tea"], ["B-PER", "O", "O"]),
]


def is_valid_iob2(tags) -> bool:
    """True when every I-X follows B-X or I-X.

    >>> is_valid_iob2(["B-PER", "I-PER", "O"]), is_valid_iob2(["O", "I-PER"]), is_valid_iob2(["B-LOC", "I-PER"])
    (True, False, False)
    """
    from tagger.data.tags import iob2_breaks

    return iob2_breaks(tags) == 0

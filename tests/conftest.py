"""Shared fixtures and helpers: composing the real Hydra configs, a tiny training run, tiny tagged
corpora written to disk, and a check of IOB2 tag sequences."""

from __future__ import annotations

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


def load_script(name: str):
    """The module of scripts/NAME.py, loaded from its path (scripts/ is not a package)."""
    import importlib.util

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
    return all(not t.startswith("I-") or (p[2:] == t[2:] and p[:2] in ("B-", "I-")) for p, t in zip(["O"] + tags, tags))

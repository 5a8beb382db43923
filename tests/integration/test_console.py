"""The console commands tagger-train, tagger-evaluate and tagger-predict: pyproject names the
entry points, and the README's commands run from a directory outside the checkout."""

import importlib
import json
import os
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT, TINY_SYNTHETIC, checkout_env, readme_blocks

COMMANDS = {"tagger-train": "tagger.train:main", "tagger-evaluate": "tagger.evaluate:main",
            "tagger-predict": "tagger.predict:main"}


def test_pyproject_names_each_entry_points_hydra_main():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == COMMANDS
    for target in scripts.values():
        module, function = target.split(":")
        main = getattr(importlib.import_module(module), function)
        assert main.__wrapped__.__module__ == module  # the function that @hydra.main wraps, as python -m runs it


def command_dir(tmp_path: Path) -> Path:
    """A directory with the three commands: the installed scripts where they sit beside this Python (CI's
    `pip install -e '.[test]'`), else stand-ins that do what a console script does: import main, call it."""
    installed = Path(sys.executable).parent
    if all((installed / name).is_file() for name in COMMANDS):
        return installed
    directory = tmp_path / "bin"
    directory.mkdir()
    for name, target in COMMANDS.items():
        module, function = target.split(":")
        script = directory / name
        script.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -c '
                          f'"import sys; from {module} import {function}; sys.exit({function}())" "$@"\n')
        script.chmod(0o755)
    return directory


@pytest.mark.slow
def test_readme_commands_train_evaluate_and_predict_from_any_directory(tmp_path):
    commands = readme_blocks("Console commands")[0].splitlines()
    assert [shlex.split(line.split("|")[-1])[0] for line in commands] == list(COMMANDS)
    env = {**checkout_env(), "PATH": f"{command_dir(tmp_path)}{os.pathsep}{os.environ['PATH']}"}
    work = tmp_path / "elsewhere"  # not the checkout: the commands find configs/ on their own
    work.mkdir()
    small = " ".join(override for override in TINY_SYNTHETIC if override != "data=synthetic")
    outputs = []
    for line in commands:
        line = f"{line} {small}" if line.startswith("tagger-train ") else line
        result = subprocess.run(line, shell=True, cwd=work, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{line}\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        outputs.append(result.stdout)
    trained = json.loads((work / "runs" / "synthetic" / "metrics.json").read_text())
    evaluated = json.loads((work / "runs" / "synthetic-dev" / "metrics.json").read_text())
    assert evaluated["run"]["data"] == "synthetic" and evaluated["run"]["sentences"] == 6  # its own dev split
    assert evaluated["dev"]["macro_f1"] == pytest.approx(trained["dev"]["macro_f1"], abs=1e-9)
    rows = [line.split("\t") for line in outputs[2].splitlines()]
    assert [row[0] for row in rows] == ["cue1", "zz", "abc", ""]
    assert {row[1] for row in rows[:3]} <= set(trained["dev"]["per_label"])


def test_installed_commands_print_hydras_help():
    script = Path(sys.executable).parent / "tagger-predict"
    if not script.is_file():
        pytest.skip("tagger is not installed with its console scripts in this environment (pip install -e .)")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120, env=checkout_env(),
                            cwd="/")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "predict is powered by Hydra" in result.stdout and "checkpoint: ???" in result.stdout

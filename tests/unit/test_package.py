"""Importing tagger: TensorFlow only when a module needs it, and without its start-up notices."""

from __future__ import annotations

import os
import subprocess
import sys


def python(code: str) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter with tagger's TensorFlow defaults (no TF_* variables set)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("TF_")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True, env=env)


def test_modules_without_tensorflow_do_not_import_it():
    # the commands too: a config mistake gets Hydra's error before TensorFlow's start-up (loading a model pays it)
    result = python("import sys, tagger.schema, tagger.summarize, tagger.data.readers, tagger.train, tagger.evaluate, "
                    "tagger.predict, tagger.export, tagger.api; "
                    "print(sorted(name for name in ('tensorflow', 'keras') if name in sys.modules))")
    assert result.stdout.strip() == "[]"


def test_tensorflow_starts_without_console_notices():
    result = python("import os, tagger.model, tensorflow as tf; "
                    "print(os.environ['TF_ENABLE_ONEDNN_OPTS'], tf.constant(2.0).numpy())")
    assert result.stdout.split() == ["1", "2.0"]
    assert result.stderr == ""


def test_import_tagger_is_cheap_and_tagger_dot_tagger_is_the_api_without_hydra():
    result = python("import sys, tagger\n"
                    "print(sorted(name for name in ('tensorflow', 'keras', 'hydra') if name in sys.modules))\n"
                    "from tagger import Tagger\n"
                    "import tagger.api\n"
                    "print(Tagger is tagger.api.Tagger, 'Tagger' in dir(tagger), 'hydra' in sys.modules)")
    assert result.stdout.splitlines() == ["[]", "True True False"]  # the API needs no Hydra

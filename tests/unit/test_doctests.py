"""The examples in the docstrings of small pure functions run, and give what they show."""

import doctest
import importlib

import pytest

MODULES = ["tagger.cli", "tagger.crf", "tagger.data.readers", "tagger.data.tags", "tagger.data.vocab",
           "tagger.embeddings", "tagger.options", "tagger.schema", "tagger.scoring", "tagger.weighting"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0

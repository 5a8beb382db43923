"""scripts/bench.py: the naive recipe computes the product's function, and the script prints its table and last line."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT, load_script

pytestmark = pytest.mark.slow

BENCH = ROOT / "scripts" / "bench.py"


def test_naive_and_product_models_give_the_same_outputs():
    from tagger import weighting
    from tagger.data.datasets import generate_synthetic
    from tagger.data.encode import encode
    from tagger.data.vocab import Vocabularies

    bench = load_script("bench")
    corpus = generate_synthetic(20, max_sentence_length=12, seed=1)
    vocab = Vocabularies.build(corpus.tokens, corpus.tags)
    data = encode(corpus, vocab)
    counts = weighting.label_counts(data.labels, data.mask, len(vocab.labels))
    x = {"words": data.words, "chars": data.chars}
    product = np.asarray(bench.fresh_model(vocab, counts, naive=False)(x, training=False))
    naive_model = bench.fresh_model(vocab, counts, naive=True)
    assert isinstance(naive_model.get_layer("char_encoder"), bench.PerPositionCharEncoder)
    naive = np.asarray(naive_model(x, training=False))
    np.testing.assert_allclose(naive[data.mask], product[data.mask], atol=1e-5)


def test_bench_prints_the_table_and_a_machine_readable_last_line():
    result = subprocess.run([sys.executable, str(BENCH), "--sentences", "40", "--epochs", "1", "--skip-wnut"],
                            capture_output=True, text=True, cwd=ROOT, timeout=600, check=True)
    lines = result.stdout.strip().splitlines()
    rows = {line.split()[2]: line.split() for line in lines if line.startswith("synthetic x1 ")}
    assert set(rows) == {"tagger", "naive"} and rows["naive"][-1] == "1.00x"
    last = re.fullmatch(r"bench: train_tok_s=(\d+) predict_tok_s=(\d+) speedup_vs_naive=([\d.]+) peak_rss_mb=(\d+)",
                        lines[-1])
    assert last, lines[-1]
    tagger_tok_s, naive_tok_s = (float(rows[p][4].replace(",", "")) for p in ("tagger", "naive"))
    assert float(last[1]) == pytest.approx(tagger_tok_s, abs=1)
    assert float(last[3]) == pytest.approx(tagger_tok_s / naive_tok_s, abs=0.01)
    assert rows["tagger"][-1] == f"{float(last[3]):.2f}x"
    assert float(last[4]) == pytest.approx(float(rows["tagger"][-2].replace(",", "")), abs=1)  # the product's own peak

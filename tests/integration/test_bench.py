"""scripts/bench.py: the naive recipe computes the product's function, and the script prints its table and last line."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT, TINY_SENTENCES, load_script, write_conll

pytestmark = pytest.mark.slow

BENCH = ROOT / "scripts" / "bench.py"


def run_bench(*args) -> list[str]:
    """The lines scripts/bench.py prints, run with this checkout's tagger."""
    result = subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, cwd=ROOT, timeout=600,
                            check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return result.stdout.strip().splitlines()


def test_naive_and_product_models_give_the_same_outputs():
    from tagger import weighting
    from tagger.data.datasets import generate_synthetic
    from tagger.data.encode import PAD_LABEL, encode
    from tagger.data.vocab import Vocabularies

    bench = load_script("bench")
    corpus = generate_synthetic(20, max_sentence_length=12, seed=1)
    vocab = Vocabularies.build(corpus.tokens, corpus.tags)
    data = encode(corpus, vocab)
    counts = weighting.label_counts(data.labels, len(vocab.labels))
    x, y, _ = data.padded(np.arange(len(data)))
    product = np.asarray(bench.fresh_model(vocab, counts, naive=False)(x, training=False))
    naive_model = bench.fresh_model(vocab, counts, naive=True)
    assert isinstance(naive_model.get_layer("char_encoder"), bench.PerPositionCharEncoder)
    naive = np.asarray(naive_model(x, training=False))
    real = y != PAD_LABEL
    assert real.sum() == data.num_tokens
    np.testing.assert_allclose(naive[real], product[real], atol=1e-5)


def test_bench_prints_the_table_and_a_machine_readable_last_line():
    lines = run_bench("--sentences", "40", "--epochs", "1", "--skip-wnut")
    rows = {line.split()[1]: line.split() for line in lines if line.startswith("synthetic ")}
    assert set(rows) == {"tagger", "naive"} and rows["naive"][-1] == "1.00x"
    last = re.fullmatch(r"bench: train_tok_s=(\d+) predict_tok_s=(\d+) speedup_vs_naive=([\d.]+) peak_rss_mb=(\d+)",
                        lines[-1])
    assert last, lines[-1]
    tagger_tok_s, naive_tok_s = (float(rows[p][3].replace(",", "")) for p in ("tagger", "naive"))
    assert float(last[1]) == pytest.approx(tagger_tok_s, abs=1)
    assert float(last[3]) == pytest.approx(tagger_tok_s / naive_tok_s, abs=0.01)
    assert rows["tagger"][-1] == f"{float(last[3]):.2f}x"
    assert float(last[4]) == pytest.approx(float(rows["tagger"][-2].replace(",", "")), abs=1)  # the product's own peak


def test_long_sentence_is_the_corpus_read_as_one_sentence_and_appended_to_a_copy(tmp_path):
    from tagger.data.readers import Corpus, read_conll

    bench = load_script("bench")
    corpus = Corpus([["a", "b"], ["c"]], [["O", "X"], ["O"]])
    assert bench.long_sentence(corpus, 5) == (["a", "b", "c", "a", "b"], ["O", "X", "O", "O", "X"])
    (tmp_path / "data").mkdir()
    (tmp_path / "copy").mkdir()
    train = write_conll(tmp_path / "data" / "train.conll", TINY_SENTENCES)
    write_conll(tmp_path / "data" / "dev.conll", TINY_SENTENCES[:2])
    copy = bench.with_sentence_appended(train, tmp_path / "copy", bench.long_sentence(read_conll(train), 30))
    read = read_conll(copy)
    assert read.tokens[:-1] == [s[0] for s in TINY_SENTENCES] and len(read.tokens[-1]) == 30
    assert read.tokens[-1][:5] == TINY_SENTENCES[0][0] and read.tags[-1][5] == "B-PER"
    assert (tmp_path / "copy" / "dev.conll").is_file() and not (tmp_path / "copy" / "test.conll").exists()


def test_bench_memory_prints_both_peaks_and_the_encoded_size(tmp_path):
    train = write_conll(tmp_path / "train.conll", TINY_SENTENCES * 3)
    write_conll(tmp_path / "dev.conll", TINY_SENTENCES)
    lines = run_bench("--memory", str(train), "--long-sentence", "300", "--", "model=tiny", "trainer=quick")
    given, appended = (line.split() for line in lines[1:3])
    assert given[:3] == ["as", "given", "18"] and appended[:3] == ["+", "300-token", "sentence"]
    assert appended[-6:-3] == ["longest", "300", "peak"]
    # 3 x 91 characters in the 18 sentences, 11 x 91 + 48 in the long one; 10,060 bytes: ids, labels, offsets, weights
    assert ("encoded training split with the long sentence: 0.0 MB for 378 tokens and 1,322 characters, 1.48x their "
            "ids at 4 bytes each") in lines[3]
    last = re.fullmatch(r"memory: peak_rss_mb=(\d+) long_sentence_peak_rss_mb=(\d+) added_mb=(-?\d+)", lines[-1])
    assert last, lines[-1]
    assert float(given[-2].replace(",", "")) == pytest.approx(float(last[1]), abs=1) and float(last[1]) > 100
    assert int(last[3]) == int(last[2]) - int(last[1])

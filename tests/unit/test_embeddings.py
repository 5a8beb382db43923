import numpy as np
import pytest

from tagger.embeddings import coverage, embedding_matrix, lookup, read_vectors

VECTORS = {"the": [0.1, 0.2, 0.3], "Paris": [1.0, -1.0, 0.5], "cat": [0.0, 0.5, -0.5]}


def write_text(path, header=False):
    lines = ([f"{len(VECTORS)} 3"] if header else []) + [f"{w} {' '.join(map(str, v))}" for w, v in VECTORS.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_binary(path):
    with path.open("wb") as stream:
        stream.write(f"{len(VECTORS)} 3\n".encode())
        for word, vector in VECTORS.items():
            stream.write(word.encode() + b" " + np.asarray(vector, np.float32).tobytes() + b"\n")
    return path


@pytest.mark.parametrize("writer, name", [(write_text, "glove.txt"), (lambda p: write_text(p, header=True), "w2v.txt"),
                                          (write_binary, "w2v.bin")])
def test_reads_glove_and_word2vec_formats(tmp_path, writer, name):
    vectors = read_vectors(writer(tmp_path / name))
    assert set(vectors) == set(VECTORS)
    np.testing.assert_allclose(vectors["Paris"], VECTORS["Paris"], rtol=1e-6)
    assert set(read_vectors(tmp_path / name, wanted={"cat", "dog"})) == {"cat"}


def test_bad_vector_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("a 1 2 3\nb 1 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.txt:2: expected a word and 3 numbers, found 2"):
        read_vectors(path)
    with pytest.raises(FileNotFoundError, match="no such embeddings file"):
        read_vectors(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="no vectors for any of the 1 words"):
        read_vectors(write_text(tmp_path / "g.txt"), wanted={"zebra"})


def test_lowercase_fallback_coverage_and_matrix():
    vectors = {w: np.asarray(v, np.float32) for w, v in VECTORS.items()}
    assert lookup(vectors, "The") is vectors["the"] and lookup(vectors, "paris") is None
    assert coverage([["The", "cat", "sat"], ["Paris"]], vectors) == 0.75
    matrix = embedding_matrix(["<pad>", "<unk>", "The", "Paris", "dog"], vectors)
    assert matrix.shape == (5, 3)
    np.testing.assert_array_equal(matrix[0], 0)
    np.testing.assert_allclose(matrix[2], VECTORS["the"])  # lowercase fallback
    np.testing.assert_allclose(matrix[3], VECTORS["Paris"])
    assert np.abs(matrix[4]).max() > 0  # random, same scale

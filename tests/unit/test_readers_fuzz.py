"""Randomly corrupted files reach the readers: they either read them or raise the documented errors."""

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tagger.data.readers import Corpus, read_conll, read_conllu, read_csv

VALID_CONLL = "John\tB-PER\nlives\tO\n\n# weight = 2\nNew\tB-LOC\nYork\tI-LOC\n"
VALID_CONLLU = "1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n\n1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_\n"
VALID_CSV = "Sentence #,Word,Tag\n1,John,B-PER\n,lives,O\n2,Paris,B-LOC\n"
PIECES = st.sampled_from(["\t", " ", "\n", "\n\n", "#", "# weight = x", "# weight = -1", "-DOCSTART-", ",", "\"",
                          "O", "B-X", "1-2", "1.1", "\x00", "é", "\ufeff"])


@st.composite
def corrupted(draw, valid: str) -> bytes:
    data = bytearray(valid.encode("utf-8"))
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "bytes"]))
        if action == "insert":
            data[position:position] = draw(PIECES).encode("utf-8")
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 8))]
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=3))
    return bytes(data)


def read_or_refuse(reader, raw: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"data{suffix}"
        path.write_bytes(raw)
        try:
            corpus = reader(path)
        except ValueError as error:
            assert str(path) in str(error)  # every refusal names the file
            return
    assert isinstance(corpus, Corpus) and len(corpus) > 0
    assert all(len(w) == len(t) > 0 for w, t in zip(corpus.tokens, corpus.tags))
    assert all(weight >= 0 for weight in corpus.weights)


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(corrupted(VALID_CONLL))
def test_corrupted_conll(raw):
    read_or_refuse(read_conll, raw, ".conll")


@SETTINGS
@given(corrupted(VALID_CONLLU))
def test_corrupted_conllu(raw):
    read_or_refuse(read_conllu, raw, ".conllu")


@SETTINGS
@given(corrupted(VALID_CSV))
def test_corrupted_csv(raw):
    read_or_refuse(read_csv, raw, ".csv")

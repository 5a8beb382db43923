"""Readers for tagged corpora: CoNLL columns, CoNLL-U and CSV/TSV, all returning a `Corpus`.

A sentence may carry its own weight (default 1.0): in CoNLL and CoNLL-U files a comment line
`# weight = 2.5` before the sentence, in CSV files an optional weight column.
"""

from __future__ import annotations

import inspect
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tagger.options import INPUT_FORMATS

log = logging.getLogger(__name__)

_WEIGHT_COMMENT = re.compile(r"^#\s*weight\s*[=:]\s*(\S+)\s*$")


@dataclass
class Corpus:
    """Sentences of tokens with one tag per token and one weight per sentence."""

    tokens: list[list[str]]
    tags: list[list[str]]
    weights: list[float] = field(default_factory=list)

    def __post_init__(self):
        if not self.weights:
            self.weights = [1.0] * len(self.tokens)
        if not len(self.tokens) == len(self.tags) == len(self.weights):
            raise ValueError(
                f"Corpus needs as many tag lists and weights as sentences, got {len(self.tokens)} "
                f"sentences, {len(self.tags)} tag lists and {len(self.weights)} weights"
            )
        for i, (words, labels) in enumerate(zip(self.tokens, self.tags)):
            if len(words) != len(labels):
                raise ValueError(f"sentence {i} has {len(words)} tokens but {len(labels)} tags")

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def num_tokens(self) -> int:
        return sum(len(s) for s in self.tokens)

    def subset(self, indices) -> Corpus:
        """The sentences at `indices`, in that order."""
        return Corpus(
            [self.tokens[i] for i in indices],
            [self.tags[i] for i in indices],
            [self.weights[i] for i in indices],
        )


def read_corpus(path: str | Path, *, file_format: str = "auto", **options) -> Corpus:
    """Read `path` with the reader for `file_format` (`auto` picks it from the file suffix).

    `options` may hold every reader's options; each reader takes the ones it knows.
    """
    path = Path(path)
    reader = {"conll": read_conll, "conllu": read_conllu, "csv": read_csv}[corpus_format(path, file_format)]
    accepted = inspect.signature(reader).parameters
    return reader(path, **{key: value for key, value in options.items() if key in accepted})


def corpus_format(path: str | Path, file_format: str = "auto") -> str:
    """The format of a corpus file: `file_format`, or with `auto` the one its suffix names (.conllu,
    .csv, .tsv; CoNLL columns otherwise).

    >>> corpus_format("a/train.tsv"), corpus_format("train.txt"), corpus_format("x.csv", "conll")
    ('csv', 'conll', 'conll')
    """
    if file_format == "auto":
        return {".conllu": "conllu", ".csv": "csv", ".tsv": "csv"}.get(Path(path).suffix.lower(), "conll")
    if file_format not in ("conll", "conllu", "csv"):
        raise ValueError(f"unknown file format {file_format!r}; expected one of ['conll', 'conllu', 'csv']")
    return file_format


def decode_utf8(raw: bytes, source: str | Path, *, line: int = 1, offset: int = 0) -> str:
    """`raw` as text; a ValueError naming `source`, the line and the byte offset if it is not UTF-8.
    `raw` may be part of the file: from line `line`, at byte `offset` (a byte order mark is read only at 0)."""
    try:
        return raw.decode("utf-8-sig" if offset == 0 else "utf-8")
    except UnicodeDecodeError as err:
        line += raw[: err.start].count(b"\n")
        raise ValueError(
            f"{source}:{line}: not UTF-8 (byte offset {offset + err.start}: "
            f"{err.reason}); convert the file to UTF-8, e.g. with `iconv -t utf-8`"
        ) from None


def read_lines(path: Path):
    """The text lines of the file `path` (as `str.splitlines` cuts them), read one at a time: memory
    does not grow with the file. A ValueError names the line and byte offset of bytes that are not UTF-8."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, "rb") as file:
        offset = 0
        for number, raw in enumerate(file, start=1):
            yield from decode_utf8(raw, path, line=number, offset=offset).splitlines()
            offset += len(raw)


def _sentence_weight(path: Path, number: int, value: str) -> float:
    try:
        weight = float(value)
    except ValueError:
        weight = float("nan")
    if not np.isfinite(weight) or weight < 0:
        raise ValueError(f"{path}:{number}: sentence weight must be a finite number >= 0, got {value!r}")
    return weight


def _warn_skipped(source, skipped: dict[str, int]) -> None:
    counts = ", ".join(f"{n} {what}" for what, n in skipped.items() if n)
    if counts:
        log.warning("%s: skipped %s", source, counts)


def _finish(path: Path, corpus: Corpus, skipped: dict[str, int]) -> Corpus:
    _warn_skipped(path, skipped)
    if not len(corpus):
        raise ValueError(f"{path}: no sentences found (expected token/tag lines, blank line between sentences)")
    return corpus


def _is_comment(line: str) -> bool:
    return line.rstrip() == "#" or line.startswith("# ")


def read_conll(path: str | Path, *, token_column: int = 0, tag_column: int = -1, strict_columns: bool = True) -> Corpus:
    """Read a CoNLL column file: one token per line, a blank line between sentences.

    A line with a tab is split at tabs (a token may then hold spaces), any other line at runs of
    whitespace. With `strict_columns`, every line must have as many columns as the first token
    line (a token split by a stray space would otherwise shift the tag column silently);
    without, a line needs only the two chosen columns. `-DOCSTART-` lines and comments are
    skipped: a comment is a line that is `#` or starts with `# `, before a sentence's first token
    (so hashtag tokens such as `#NFL O` are kept). `# weight = W` sets the next sentence's weight.
    """
    tokens, tags, weights = [], [], []
    for words, labels, weight in conll_sentences(path, token_column=token_column, tag_column=tag_column,
                                                 strict_columns=strict_columns):
        tokens.append(words), tags.append(labels), weights.append(weight)
    return _finish(Path(path), Corpus(tokens, tags, weights), {})  # conll_sentences warns of skipped lines


def conll_sentences(path: str | Path, *, token_column: int = 0, tag_column: int = -1, strict_columns: bool = True,
                    warn: bool = True):
    """The sentences of the CoNLL column file `path` as (tokens, tags, weight), read one at a time (as
    `read_conll` reads them, which collects them): memory does not grow with the file. At the end, with
    `warn`, a warning counts the lines skipped."""
    path = Path(path)
    skipped = {"-DOCSTART- lines": 0, "comment lines": 0}
    yield from _conll_sentences(read_lines(path), path, skipped, token_column=token_column, tag_column=tag_column,
                                strict_columns=strict_columns)
    if warn:
        _warn_skipped(path, skipped)


def read_untagged(text: str, input_format: str = "conll", *, source: str | Path = "<input>") -> list[list[str]]:
    """The sentences of untagged `text` as token lists: `conll`, the first column of CoNLL lines, read
    as `read_conll` reads them (comments and `-DOCSTART-` lines skipped, a line with a tab split at
    tabs); `text`, one whitespace-tokenised sentence per line.

    >>> read_untagged("# a comment\\nJohn O\\nsleeps\\n\\n-DOCSTART-\\n\\nNew York\\tB-LOC", "conll")
    [['John', 'sleeps'], ['New York']]
    >>> read_untagged("John sleeps\\n\\nHi !", "text")
    [['John', 'sleeps'], ['Hi', '!']]
    """
    if input_format not in INPUT_FORMATS:
        raise ValueError(f"input_format must be one of {INPUT_FORMATS}, got {input_format!r}")
    if input_format == "text":
        return [line.split() for line in text.splitlines() if line.strip()]
    # tag column = token column: a line needs its token alone (the "tags" read are dropped)
    skipped = {"-DOCSTART- lines": 0, "comment lines": 0}
    tokens = [words for words, _, _ in _conll_sentences(text.splitlines(), source, skipped, token_column=0,
                                                         tag_column=0, strict_columns=False)]
    _warn_skipped(source, skipped)
    return tokens


def _conll_sentences(lines, source, skipped: dict[str, int], *, token_column: int, tag_column: int,
                     strict_columns: bool):
    """The sentences of CoNLL `lines` as (tokens, tags, weight), read as `read_conll` describes; `skipped`
    counts the lines skipped."""
    needed = max(token_column, tag_column) + 1 if tag_column >= 0 else max(token_column + 1, -tag_column, 2)
    first_columns = None  # (line number, column count) of the first token line
    words, labels, weight = [], [], 1.0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            if words:
                yield words, labels, weight
            words, labels, weight = [], [], 1.0
            continue
        if not words and _is_comment(line):
            skipped["comment lines"] += 1
            match = _WEIGHT_COMMENT.match(line)
            if match:
                weight = _sentence_weight(source, number, match.group(1))
            continue
        columns = [c.strip() for c in line.strip().split("\t")] if "\t" in line else line.split()
        if columns[0] == "-DOCSTART-":
            skipped["-DOCSTART- lines"] += 1
            continue
        if len(columns) < needed:
            raise ValueError(f"{source}:{number}: expected at least {needed} columns (token column {token_column}, "
                             f"tag column {tag_column}), found {len(columns)}: {line!r}")
        first_columns = first_columns or (number, len(columns))
        if strict_columns and len(columns) != first_columns[1]:
            raise ValueError(
                f"{source}:{number}: expected {first_columns[1]} columns like line {first_columns[0]}, found "
                f"{len(columns)}: {line!r} (a token with a space in a space-separated file? Use tabs, or "
                "data.strict_columns=false for files whose lines differ)"
            )
        words.append(columns[token_column])
        labels.append(columns[tag_column])
    if words:
        yield words, labels, weight


def read_conllu(path: str | Path, *, tag_field: str = "upos") -> Corpus:
    """Read a CoNLL-U file, tagging each word with its UPOS (`tag_field="upos"`) or XPOS.

    Multi-word token ranges (`1-2`) and empty nodes (`1.1`) are skipped and counted.
    """
    path = Path(path)
    fields = {"upos": 3, "xpos": 4}
    if tag_field not in fields:
        raise ValueError(f"tag_field must be 'upos' or 'xpos', got {tag_field!r}")
    column = fields[tag_field]
    tokens, tags, weights = [], [], []
    words, labels, weight = [], [], 1.0
    skipped = {"multi-word token ranges": 0, "empty nodes": 0}
    for number, line in enumerate([*read_lines(path), ""], start=1):
        if not line.strip():
            if words:
                tokens.append(words), tags.append(labels), weights.append(weight)
            words, labels, weight = [], [], 1.0
            continue
        if line.startswith("#"):
            match = _WEIGHT_COMMENT.match(line)
            if match:
                weight = _sentence_weight(path, number, match.group(1))
            continue
        columns = line.rstrip("\n").split("\t")
        if len(columns) != 10:
            raise ValueError(f"{path}:{number}: expected 10 tab-separated CoNLL-U fields, found {len(columns)}: {line!r}")
        if "-" in columns[0]:
            skipped["multi-word token ranges"] += 1
            continue
        if "." in columns[0]:
            skipped["empty nodes"] += 1
            continue
        words.append(columns[1])
        labels.append(columns[column])
    return _finish(path, Corpus(tokens, tags, weights), {k: v for k, v in skipped.items() if v})


def read_csv(
    path: str | Path,
    *,
    sentence_header: str = "Sentence #",
    token_header: str = "Word",
    tag_header: str = "Tag",
    weight_header: str | None = None,
    separator: str | None = None,
) -> Corpus:
    """Read a "sentence id, word, tag" table; the sentence id may appear on a sentence's first row only.

    The separator defaults to a tab for `.tsv` files and a comma otherwise.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    separator = separator or ("\t" if path.suffix.lower() == ".tsv" else ",")
    decode_utf8(path.read_bytes(), path)
    try:
        # header=None: the header is row 0 and every row must have its number of fields (pandas would
        # otherwise turn the first column of longer rows into an index)
        rows = pd.read_csv(path, sep=separator, header=None, dtype=str, keep_default_na=False,
                           skip_blank_lines=False, encoding="utf-8-sig")
    except pd.errors.ParserError as err:
        raise ValueError(f"{path}: cannot parse as a table: {err}") from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: empty file; expected a header row with columns "
                         f"{sentence_header!r}, {token_header!r}, {tag_header!r}") from None
    table = rows.iloc[1:].set_axis(rows.iloc[0].fillna("").tolist(), axis=1)
    table.index = table.index + 1  # line numbers (the header is line 1), for error messages
    wanted = [sentence_header, token_header, tag_header] + ([weight_header] if weight_header else [])
    missing = [c for c in wanted if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; the file has columns {list(table.columns)}")
    blank = table.isna().all(axis=1) | (table == "").all(axis=1)
    skipped = {"blank lines": int(blank.sum())} if blank.any() else {}
    table = table[~blank]
    short = table.index[table.isna().any(axis=1)]
    if len(short):
        raise ValueError(f"{path}:{short[0]}: expected {len(table.columns)} fields like the header, found fewer")
    if table.empty:
        raise ValueError(f"{path}: no rows after the header")
    if table[sentence_header].iloc[0] == "":
        raise ValueError(f"{path}:{table.index[0]}: the first row needs a sentence id in column {sentence_header!r}")
    sentence_ids = table[sentence_header].replace("", np.nan).ffill()
    for column in (token_header, tag_header):
        empty = table.index[table[column] == ""]
        if len(empty):
            raise ValueError(f"{path}:{empty[0]}: empty value in column {column!r}")
    tokens, tags, weights = [], [], []
    sentence_runs = (sentence_ids != sentence_ids.shift()).cumsum()  # a repeated id elsewhere is a new sentence
    for _, rows in table.groupby(sentence_runs, sort=False):
        tokens.append(rows[token_header].tolist())
        tags.append(rows[tag_header].tolist())
        if weight_header:
            weights.append(_sentence_weight(path, rows.index[0], rows[weight_header].iloc[0]))
    return _finish(path, Corpus(tokens, tags, weights), skipped)

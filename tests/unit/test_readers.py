import logging

import pytest

from tagger.data.readers import Corpus, read_conll, read_conllu, read_corpus, read_csv, read_untagged


def test_conll_columns_comments_docstart_and_sentence_weights(tmp_path, caplog):
    path = tmp_path / "a.conll"
    path.write_text(
        "-DOCSTART- -X- O O\n\n"
        "# a comment\n# weight = 2.5\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n\n"
        "Peter NNP B-NP B-PER\n",
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING):
        corpus = read_conll(path)
    assert corpus.tokens == [["EU", "rejects"], ["Peter"]]
    assert corpus.tags == [["B-ORG", "O"], ["B-PER"]]
    assert corpus.weights == [2.5, 1.0]
    assert "skipped 1 -DOCSTART- lines, 2 comment lines" in caplog.text
    assert read_conll(path, token_column=0, tag_column=1).tags == [["NNP", "VBZ"], ["NNP"]]


def test_hashtag_tokens_are_tokens_not_comments(tmp_path):
    path = tmp_path / "tweets.conll"
    path.write_text("#NFL\tB-group\nrocks\tO\n#\tO\n\n#\n# weight = 2\n#photography\tO\n", encoding="utf-8")
    corpus = read_conll(path)
    assert corpus.tokens == [["#NFL", "rocks", "#"], ["#photography"]]
    assert corpus.weights == [1.0, 2.0]


def test_varying_column_counts_only_when_allowed(tmp_path):
    path = tmp_path / "a.conll"
    path.write_text("a x y B-X\nb O\n", encoding="utf-8")
    assert read_conll(path, strict_columns=False).tags == [["B-X", "O"]]
    with pytest.raises(ValueError, match=r"a.conll:2: expected 4 columns like line 1, found 2: 'b O'"):
        read_conll(path)


def test_space_in_a_token_of_a_space_separated_file_is_caught(tmp_path):
    path = tmp_path / "a.conll"
    path.write_text("I O\nlove O\nNew York B-LOC\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"a.conll:3: expected 2 columns like line 1, found 3.*Use tabs"):
        read_conll(path)


def test_tab_separated_tokens_may_hold_spaces(tmp_path):
    path = tmp_path / "a.tsv.conll"
    path.write_text("I\tO\nNew York\tB-LOC\n", encoding="utf-8")
    assert read_conll(path).tokens == [["I", "New York"]]


def test_conll_line_without_tag_names_file_and_line(tmp_path):
    path = tmp_path / "bad.conll"
    path.write_text("John B-PER\nlives O\nin\nYork B-LOC\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.conll:3: expected at least 2 columns.*found 1"):
        read_conll(path)


def test_not_utf8_reports_line_and_byte_offset(tmp_path):
    path = tmp_path / "latin1.conll"
    path.write_bytes("a O\n\ncaf\xe9 O\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1.conll:3: not UTF-8 \(byte offset 8"):
        read_conll(path)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "-DOCSTART- O\n"])
def test_file_without_sentences(tmp_path, text):
    path = tmp_path / "empty.conll"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="empty.conll: no sentences found"):
        read_conll(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.conll: no such file"):
        read_corpus(tmp_path / "nope.conll")


def test_bad_sentence_weight(tmp_path):
    path = tmp_path / "w.conll"
    path.write_text("# weight = -1\na O\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"w.conll:1: sentence weight must be a finite number >= 0, got '-1'"):
        read_conll(path)


CONLLU = """# sent_id = 1
# text = Vámonos al mar.
1-2\tVámonos\t_\t_\t_\t_\t_\t_\t_\t_
1\tVamos\tir\tVERB\tVMIP1P0\t_\t0\troot\t_\t_
2\tnos\tnosotros\tPRON\tPP1CP00\t_\t1\tobj\t_\t_
3-4\tal\t_\t_\t_\t_\t_\t_\t_\t_
3\ta\ta\tADP\tSPS00\t_\t5\tcase\t_\t_
4\tel\tel\tDET\tDA0MS0\t_\t5\tdet\t_\t_
4.1\tvoy\tir\tVERB\t_\t_\t_\t_\t_\t_
5\tmar\tmar\tNOUN\tNCMS000\t_\t1\tobl\t_\t_

1\tSí\tsí\tINTJ\tI\t_\t0\troot\t_\t_
"""


def test_conllu_upos_xpos_skips_ranges_and_empty_nodes(tmp_path, caplog):
    path = tmp_path / "a.conllu"
    path.write_text(CONLLU, encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        corpus = read_corpus(path)  # picked by suffix
    assert corpus.tokens == [["Vamos", "nos", "a", "el", "mar"], ["Sí"]]
    assert corpus.tags == [["VERB", "PRON", "ADP", "DET", "NOUN"], ["INTJ"]]
    assert "2 multi-word token ranges, 1 empty nodes" in caplog.text
    assert read_conllu(path, tag_field="xpos").tags[0] == ["VMIP1P0", "PP1CP00", "SPS00", "DA0MS0", "NCMS000"]


def test_conllu_wrong_field_count(tmp_path):
    path = tmp_path / "b.conllu"
    path.write_text("1\tword\tVERB\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"b.conllu:1: expected 10 tab-separated CoNLL-U fields, found 3"):
        read_conllu(path)


def test_csv_forward_fills_sentence_ids(tmp_path):
    path = tmp_path / "ner.csv"
    path.write_text("Sentence #,Word,POS,Tag\nSentence: 1,Thousands,NNS,O\n,of,IN,O\n,London,NNP,B-geo\n"
                    "Sentence: 2,Iran,NNP,B-gpe\n,says,VBZ,O\n", encoding="utf-8")
    corpus = read_corpus(path)
    assert corpus.tokens == [["Thousands", "of", "London"], ["Iran", "says"]]
    assert corpus.tags == [["O", "O", "B-geo"], ["B-gpe", "O"]]
    assert corpus.weights == [1.0, 1.0]


def test_tsv_with_configured_columns_and_weights(tmp_path):
    path = tmp_path / "ner.tsv"
    path.write_text("sid\ttoken\tlabel\tw\n1\ta\tO\t3\n\tb\tB-X\t\n2\tc\tO\t0.5\n", encoding="utf-8")
    corpus = read_csv(path, sentence_header="sid", token_header="token", tag_header="label", weight_header="w")
    assert corpus.tokens == [["a", "b"], ["c"]]
    assert corpus.weights == [3.0, 0.5]


def test_csv_missing_columns_lists_the_columns_it_has(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("id,word,tag\n1,a,O\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"x.csv: missing column\(s\) \['Sentence #', 'Word', 'Tag'\]; "
                                         r"the file has columns \['id', 'word', 'tag'\]"):
        read_csv(path)


def test_csv_empty_tag_names_the_line(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("Sentence #,Word,Tag\n1,a,O\n,b,\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"x.csv:3: empty value in column 'Tag'"):
        read_csv(path)


def test_corpus_checks_lengths():
    with pytest.raises(ValueError, match="sentence 0 has 2 tokens but 1 tags"):
        Corpus([["a", "b"]], [["O"]])


def test_csv_blank_lines_are_counted_and_line_numbers_stay_right(tmp_path, caplog):
    path = tmp_path / "x.csv"
    path.write_text("Sentence #,Word,Tag\n1,a,O\n\n2,b,O\n1,c,O\n,d,\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"x.csv:6: empty value in column 'Tag'"):
        read_csv(path)
    path.write_text("Sentence #,Word,Tag\n1,a,O\n\n2,b,O\n1,c,O\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        corpus = read_csv(path)
    assert corpus.tokens == [["a"], ["b"], ["c"]]  # the second "1" is a sentence of its own
    assert "skipped 1 blank lines" in caplog.text


def test_csv_row_with_extra_field(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("Sentence #,Word,Tag\n1,J,ohn,B-PER\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"x.csv: cannot parse as a table: .*Expected 3 fields in line 2, saw 4"):
        read_csv(path)


def test_untagged_conll_text_is_read_by_the_rules_of_read_conll(tmp_path):
    tagged = ("-DOCSTART- -X- O\n\n# weight = 2\n# a comment\n#NFL\tB-group\nNew York\tB-LOC\n#\tO\n\n"
              "Peter B-PER\nsleeps O\n")
    path = tmp_path / "a.conll"
    path.write_text(tagged, encoding="utf-8")
    expected = [["#NFL", "New York", "#"], ["Peter", "sleeps"]]
    assert read_conll(path, strict_columns=False).tokens == expected
    assert read_untagged(tagged, "conll") == expected
    first_column = [line.split("\t")[0] + "\t" if "\t" in line else line.split(" ")[0] for line in tagged.splitlines()]
    assert read_untagged("\n".join(first_column), "conll") == expected  # tokens alone
    assert read_untagged("", "conll") == [] and read_untagged("a b\n\n c \n", "text") == [["a", "b"], ["c"]]
    with pytest.raises(ValueError, match=r"input_format must be one of \('conll', 'text'\), got 'csv'"):
        read_untagged("a", "csv")

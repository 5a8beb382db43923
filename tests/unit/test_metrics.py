import pytest
from seqeval.metrics import f1_score as seqeval_f1
from seqeval.scheme import IOB2
from sklearn.metrics import f1_score, precision_recall_fscore_support

from tagger.data.readers import read_conll
from tagger.data.tags import is_span_labelling
from tagger.metrics import entity_scores, format_scores, score_tags, token_scores

GOLD = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG", "O", "B-PER"]]
PRED = [["B-PER", "I-PER", "O", "B-ORG"], ["O", "B-ORG", "O", "O", "I-PER"]]


def flat(sentences):
    return [t for s in sentences for t in s]


@pytest.mark.parametrize(
    "labels, expected",
    [(["O", "B-PER", "I-PER"], True), (["O", "S-X", "E-X", "B-X", "I-X"], True), (["O"], False),
     (["NOUN", "VERB"], False), (["O", "B-PER", "PER"], False), (["B-NP", "I-NP"], True)],
)
def test_span_labelling_detection(labels, expected):
    assert is_span_labelling(labels) is expected


def test_token_scores_match_sklearn_and_exclude_o_from_averages():
    scores = token_scores(GOLD, PRED)
    interest = ["B-LOC", "B-ORG", "B-PER", "I-ORG", "I-PER"]
    for average in ("macro", "micro", "weighted"):
        assert scores[f"{average}_f1"] == pytest.approx(
            f1_score(flat(GOLD), flat(PRED), labels=interest, average=average, zero_division=0))
    p, r, f, s = precision_recall_fscore_support(flat(GOLD), flat(PRED), labels=["B-PER"], zero_division=0)
    assert scores["per_label"]["B-PER"] == pytest.approx({"precision": p[0], "recall": r[0], "f1": f[0], "support": s[0]})
    # by hand: B-PER gold 2, predicted 1 correct -> P 1, R 0.5; I-PER: 1 gold, 2 predicted, 1 right
    assert scores["per_label"]["B-PER"]["recall"] == 0.5
    assert scores["per_label"]["I-PER"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert scores["accuracy"] == pytest.approx(6 / 9)


def test_labels_argument_orders_the_table_and_keeps_unseen_labels():
    scores = token_scores(GOLD, PRED, labels=["O", "B-MISC", "B-PER"])
    assert list(scores["per_label"])[:3] == ["O", "B-MISC", "B-PER"]
    assert scores["per_label"]["B-MISC"]["support"] == 0
    # B-MISC occurs in neither gold nor predictions: it does not drag the macro average down
    assert scores["macro_f1"] == pytest.approx(token_scores(GOLD, PRED)["macro_f1"])


def test_entity_scores_by_hand_and_against_seqeval():
    # gold spans: PER[0:2], LOC[3], ORG[1:3], PER[4]; predicted: PER[0:2], ORG[3], ORG[1], PER[4] (I-PER starts a span)
    scores = entity_scores(GOLD, PRED)
    assert scores["entity_precision"] == pytest.approx(2 / 4)
    assert scores["entity_recall"] == pytest.approx(2 / 4)
    assert scores["entity_f1"] == pytest.approx(seqeval_f1(GOLD, PRED))
    assert scores["per_type"]["PER"]["f1"] == pytest.approx(1.0)
    strict = entity_scores(GOLD, PRED, strict=True)  # strict IOB2: a span cannot start with I-
    assert strict["entity_f1"] == pytest.approx(seqeval_f1(GOLD, PRED, mode="strict", scheme=IOB2))
    assert strict["entity_precision"] == pytest.approx(1 / 3)


def test_score_tags_adds_entity_scores_only_for_span_labels():
    assert "entity_f1" in score_tags(GOLD, PRED)
    pos = score_tags([["NOUN", "VERB"]], [["NOUN", "NOUN"]])
    assert "entity_f1" not in pos and pos["macro_f1"] == pytest.approx((2 / 3 + 0) / 2)
    text = format_scores(score_tags(GOLD, PRED))
    assert text.splitlines()[0].split() == ["label", "prec", "rec", "f1", "support"]
    assert "entity_f1=0.5000" in text


def test_mismatched_lengths():
    with pytest.raises(ValueError, match="4 gold tags but 3 predicted tags"):
        token_scores([["O"] * 4], [["O"] * 3])


CONLLEVAL_FILE = """\
Ann B-PER B-PER
Lee I-PER I-PER
in O O
Oslo B-LOC B-LOC
at O O
Acme B-ORG B-ORG
Inc I-ORG O
on O I-MISC
Eurovision B-MISC I-MISC
"""


def test_entity_scores_agree_with_conlleval_worked_by_hand(tmp_path):
    """conlleval's input: token, gold tag, predicted tag. conlleval counts a span as correct when
    type, start and end all match; an I- tag after O or after another type starts a new span.
    Gold spans: PER(1-2), LOC(4), ORG(6-7), MISC(9). Predicted: PER(1-2) right, LOC(4) right,
    ORG(6) wrong end, MISC(8-9) from I-MISC after O: wrong start. conlleval's report for this
    file: 2 correct of 4 found and 4 gold, precision 50.00 %, recall 50.00 %, FB1 50.00."""
    path = tmp_path / "conlleval.txt"
    path.write_text(CONLLEVAL_FILE, encoding="utf-8")
    gold, pred = read_conll(path, tag_column=1).tags, read_conll(path, tag_column=2).tags
    scores = entity_scores(gold, pred)
    assert (scores["entity_precision"], scores["entity_recall"], scores["entity_f1"]) == pytest.approx((0.5, 0.5, 0.5), abs=0.01)
    strict = entity_scores(gold, pred, strict=True)  # strict IOB2 drops the span that starts with I-: 2 of 3 found
    assert (strict["entity_precision"], strict["entity_recall"]) == pytest.approx((2 / 3, 0.5))


def test_confusion_matrix_rows_are_gold_columns_predicted():
    scores = token_scores([["O", "B-X", "B-X"]], [["B-X", "B-X", "O"]], labels=["O", "B-X"])
    assert scores["confusion"] == {"labels": ["O", "B-X"], "counts": [[0, 1], [1, 1]]}

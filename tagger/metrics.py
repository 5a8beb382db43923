"""Token-level and entity-level precision, recall and F1 per label.

Averages (macro, micro, weighted) run over the labels of interest: every label except `O`
(all labels when there is no `O`) that occurs in the gold tags or the predictions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from seqeval.metrics import classification_report as entity_report
from seqeval.scheme import IOB2, IOBES
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from tagger.data.tags import OUTSIDE, is_span_labelling, label_set, uses_iobes

# The single-number figures of a split's scores, in report order (history.csv, summaries, logs).
HEADLINE_KEYS = ("macro_f1", "micro_f1", "weighted_f1", "accuracy", "entity_f1")


def _flat(sentences: Sequence[Sequence[str]]) -> list[str]:
    return [tag for sentence in sentences for tag in sentence]


def token_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                 labels: Sequence[str] = ()) -> dict:
    """Per-label precision/recall/F1/support, their averages over the labels of interest, and the
    confusion matrix (rows gold, columns predicted).

    `labels` fixes the order of the per-label table (labels from the data are appended).
    """
    y_true, y_pred = _flat(gold), _flat(predicted)
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} gold tags but {len(y_pred)} predicted tags")
    ordered = list(dict.fromkeys([*labels, *sorted(set(y_true) | set(y_pred))]))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=ordered, average=None, zero_division=0)
    per_label = {label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                 for i, label in enumerate(ordered)}
    present = set(y_true) | set(y_pred)
    interest = [label for label in ordered if label in present and label != OUTSIDE]
    scores = {"accuracy": float(accuracy_score(y_true, y_pred)) if y_true else 0.0}
    for average in ("macro", "micro", "weighted"):
        if interest:
            values = precision_recall_fscore_support(y_true, y_pred, labels=interest, average=average, zero_division=0)
            scores[f"{average}_precision"], scores[f"{average}_recall"], scores[f"{average}_f1"] = map(float, values[:3])
        else:
            scores[f"{average}_precision"] = scores[f"{average}_recall"] = scores[f"{average}_f1"] = 0.0
    scores["per_label"] = per_label
    counts = confusion_matrix(y_true, y_pred, labels=ordered) if y_true else np.zeros((len(ordered),) * 2, int)
    scores["confusion"] = {"labels": ordered, "counts": counts.tolist()}
    return scores


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], *, strict: bool = False) -> dict:
    """Span-level scores with seqeval: conlleval's rules by default, or `strict` IOB2/IOBES spans."""
    options = {}
    if strict:
        tags = set(_flat(gold)) | set(_flat(predicted))
        options = {"mode": "strict", "scheme": IOBES if uses_iobes(tags) else IOB2}
    report = entity_report([list(s) for s in gold], [list(s) for s in predicted], output_dict=True,
                           zero_division=0, **options)
    micro = report.pop("micro avg")
    for average in ("macro avg", "weighted avg"):
        report.pop(average, None)
    return {
        "entity_precision": float(micro["precision"]),
        "entity_recall": float(micro["recall"]),
        "entity_f1": float(micro["f1-score"]),
        "per_type": {kind: {"precision": float(v["precision"]), "recall": float(v["recall"]),
                            "f1": float(v["f1-score"]), "support": int(v["support"])}
                     for kind, v in sorted(report.items())},
    }


def multi_label_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], labels: Sequence[str] = ()) -> dict:
    """Per-label precision/recall/F1/support of multi-label tags (`A|B`), averages over the labels
    in the gold tags or predictions, and `accuracy`: the share of tokens whose label set is exact."""
    gold_sets, predicted_sets = ([label_set(t) for t in _flat(tags)] for tags in (gold, predicted))
    if len(gold_sets) != len(predicted_sets):
        raise ValueError(f"{len(gold_sets)} gold tags but {len(predicted_sets)} predicted tags")
    ordered = list(dict.fromkeys([*labels, *sorted(set().union(*gold_sets, *predicted_sets))]))
    y_true = np.array([[label in s for label in ordered] for s in gold_sets], dtype=int).reshape(-1, len(ordered))
    y_pred = np.array([[label in s for label in ordered] for s in predicted_sets], dtype=int).reshape(-1, len(ordered))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
    per_label = {label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                 for i, label in enumerate(ordered)}
    present = (y_true.sum(axis=0) + y_pred.sum(axis=0)) > 0
    scores = {"accuracy": float(np.mean([g == q for g, q in zip(gold_sets, predicted_sets)])) if gold_sets else 0.0}
    for average in ("macro", "micro", "weighted"):
        if present.any():
            values = precision_recall_fscore_support(y_true[:, present], y_pred[:, present], average=average,
                                                     zero_division=0)
            scores[f"{average}_precision"], scores[f"{average}_recall"], scores[f"{average}_f1"] = map(float, values[:3])
        else:
            scores[f"{average}_precision"] = scores[f"{average}_recall"] = scores[f"{average}_f1"] = 0.0
    scores["per_label"] = per_label
    return scores


def score_tags(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], labels: Sequence[str] = (),
               *, strict: bool = False, multi_label: bool = False) -> dict:
    """Token scores, plus entity scores (under "entity") when the labels are span tags; multi-label
    scores for `multi_label` tags."""
    if multi_label:
        return multi_label_scores(gold, predicted, labels)
    scores = token_scores(gold, predicted, labels)
    if is_span_labelling(list(scores["per_label"])):
        scores["entity"] = entity_scores(gold, predicted, strict=strict)
        scores["entity_f1"] = scores["entity"]["entity_f1"]
    return scores


def headline(scores: dict) -> dict[str, float]:
    """The single-number figures of `score_tags` output."""
    return {key: scores[key] for key in HEADLINE_KEYS if key in scores}


def per_label_table(scores: dict) -> pd.DataFrame:
    """One row per label: precision, recall, f1, support."""
    return pd.DataFrame.from_dict(scores["per_label"], orient="index")[["precision", "recall", "f1", "support"]]


def format_scores(scores: dict) -> str:
    """A compact text table of per-label scores followed by the averages."""
    table = per_label_table(scores)
    lines = [f"{'label':<16}{'prec':>7}{'rec':>7}{'f1':>7}{'support':>9}"]
    lines += [f"{label:<16}{row.precision:7.3f}{row.recall:7.3f}{row.f1:7.3f}{int(row.support):9d}"
              for label, row in table.iterrows()]
    lines.append("  ".join(f"{key}={value:.4f}" for key, value in headline(scores).items()))
    return "\n".join(lines)

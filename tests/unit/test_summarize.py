"""Sweep summaries on hand-made job directories: the numbers are worked out here."""

import json
import math

import pandas as pd
import pytest
from scipy.stats import ttest_ind

from tagger.summarize import collect_jobs, curve_bands, dev_curves, summary_table, welch_p_value, write_summary

LABELS = {"O": 90, "B-X": 9, "I-X": 1}


def write_job(sweep, number, overrides, macro=None, per_label=None, error=None, history=None):
    job = sweep / str(number)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if error:
        (job / "failed.json").write_text(json.dumps({"error": error}))
    elif macro is not None:
        scores = {"macro_f1": macro, "micro_f1": macro / 2, "accuracy": 0.9,
                  "per_label": {label: {"f1": f} for label, f in per_label.items()}}
        (job / "metrics.json").write_text(json.dumps({
            "run": {"monitor": "val_macro_f1", "epochs_run": 3, "best_epoch": 2, "train_seconds": 1.5,
                    "train_tokens_per_s": 100.0},
            "train_labels": {label: {"train_tokens": n} for label, n in LABELS.items()},
            "dev": {**scores, "macro_f1": macro - 0.1}, "test": scores,
        }))
    if history is not None:  # the dev macro-F1 of each epoch
        pd.DataFrame({"epoch": range(len(history)), "val_loss": 1.0, "val_macro_f1": history}).to_csv(
            job / "history.csv", index=False)


# dev macro-F1 by epoch of some jobs (job 2 has no history.csv); job 1 stopped an epoch before job 0
HISTORIES = {0: [0.1, 0.3, 0.35], 1: [0.2, 0.4], 3: [0.3, 0.5, 0.45]}


@pytest.fixture
def sweep(tmp_path):
    rows = [("none", 0, 0.40), ("none", 1, 0.44), ("none", 2, 0.42),
            ("balanced", 0, 0.50), ("balanced", 1, 0.56), ("balanced", 2, None)]
    for number, (scheme, seed, macro) in enumerate(rows):
        overrides = [f"weighting={scheme}", f"seed={seed}", "sweep=weighting"]
        if macro is None:
            write_job(tmp_path, number, overrides, error="ValueError: boom")
        else:
            write_job(tmp_path, number, overrides, macro, {"O": 0.9, "B-X": macro, "I-X": macro / 4},
                      history=HISTORIES.get(number))
    write_job(tmp_path, 6, ["weighting=log", "seed=0", "sweep=weighting"])  # killed: no metrics, no failure record
    return tmp_path


def test_jobs_table_has_one_row_per_job(sweep):
    jobs = collect_jobs(sweep)
    assert jobs["job"].tolist() == [str(i) for i in range(7)]
    assert jobs["config"].tolist() == ["weighting=none"] * 3 + ["weighting=balanced"] * 3 + ["weighting=log"]
    assert jobs["status"].tolist() == ["ok"] * 5 + ["failed", "unfinished"]
    assert jobs.loc[5, "error"] == "ValueError: boom"
    assert jobs.loc[3, "test_f1:B-X"] == 0.50 and jobs.loc[0, "train_tokens:I-X"] == 1


def test_mean_std_and_welch_by_hand(sweep):
    table = summary_table(collect_jobs(sweep))
    assert table.loc["weighting=none", "test_macro_f1_mean"] == pytest.approx(0.42)
    assert table.loc["weighting=none", "test_macro_f1_std"] == pytest.approx(0.02)  # sample std of .40 .44 .42
    assert table.loc["weighting=balanced", "test_macro_f1_mean"] == pytest.approx(0.53)
    assert table.loc["weighting=balanced", "seeds"] == 2 and table.loc["weighting=balanced", "failed"] == 1
    # Welch by hand: t = (0.53 - 0.42) / sqrt(0.0018/2 + 0.0004/3), df by Welch-Satterthwaite
    va, vb = 0.0018 / 2, 0.0004 / 3
    t = 0.11 / math.sqrt(va + vb)
    assert ttest_ind([0.50, 0.56], [0.40, 0.44, 0.42], equal_var=False).statistic == pytest.approx(t)
    assert table.loc["weighting=balanced", "p_vs_first"] == pytest.approx(
        ttest_ind([0.50, 0.56], [0.40, 0.44, 0.42], equal_var=False).pvalue)
    assert math.isnan(table.loc["weighting=log", "test_macro_f1_mean"])


def test_welch_needs_two_seeds_a_side():
    assert math.isnan(welch_p_value([0.5], [0.4, 0.41]))
    assert math.isnan(welch_p_value([0.5, 0.5], [0.4, 0.4]))
    assert welch_p_value([0.5, 0.52, 0.51], [0.40, 0.41, 0.39]) < 0.01


def test_summary_files(sweep):
    write_summary(sweep)
    assert len(pd.read_csv(sweep / "summary.csv")) == 7
    text = (sweep / "summary.md").read_text()
    assert "7 jobs, 5 finished." in text
    assert "- job 5 (weighting=balanced seed=2 sweep=weighting): failed: ValueError: boom" in text
    assert "- job 6 (weighting=log seed=0 sweep=weighting): unfinished" in text
    assert "**0.5300 ± 0.0424**" in text and "0.4200 ± 0.0200 " in text  # best per column in bold
    labels_section = text.split("## Test F1 per label")[1]
    assert labels_section.index("O (90 %)") < labels_section.index("B-X (9 %)") < labels_section.index("I-X (1 %)")
    assert (sweep / "summary.png").read_bytes()[:4] == b"\x89PNG"


def test_dev_curves_mean_and_band_over_seeds_by_hand(sweep):
    curves = dev_curves(sweep, collect_jobs(sweep))
    assert len(curves) == 3 + 2 + 3  # the jobs with a history.csv
    bands = curve_bands(curves).set_index(["config", "epoch"])
    none, balanced = "weighting=none", "weighting=balanced"
    assert bands.loc[(none, 1), ["mean", "min", "max", "seeds"]].tolist() == pytest.approx([0.15, 0.1, 0.2, 2])
    assert bands.loc[(none, 2), ["mean", "min", "max", "seeds"]].tolist() == pytest.approx([0.35, 0.3, 0.4, 2])
    assert bands.loc[(none, 3), ["mean", "min", "max", "seeds"]].tolist() == pytest.approx([0.35, 0.35, 0.35, 1])
    assert bands.loc[(balanced, 3), "mean"] == pytest.approx(0.45)
    assert curve_bands(curves)["config"].tolist() == [none] * 3 + [balanced] * 3  # sweep order, epochs in order
    assert set(curve_bands(curves)["monitor"]) == {"val_macro_f1"}


def test_summary_links_the_learning_curves(sweep):
    write_summary(sweep)
    link = "![dev learning curves, mean over seeds with min-max band](summary_curves.png)"
    assert link in (sweep / "summary.md").read_text()
    assert (sweep / "summary_curves.png").read_bytes()[:4] == b"\x89PNG"
    assert pd.read_csv(sweep / "summary.csv")["monitor"].dropna().unique().tolist() == ["val_macro_f1"]


def test_no_histories_no_curves(tmp_path):
    write_job(tmp_path, 0, ["seed=0"], 0.5, {"O": 0.9, "B-X": 0.5, "I-X": 0.1})
    write_summary(tmp_path)
    assert not (tmp_path / "summary_curves.png").exists()
    assert "learning curves" not in (tmp_path / "summary.md").read_text()


def test_not_a_sweep(tmp_path):
    with pytest.raises(FileNotFoundError, match="no multirun jobs here"):
        write_summary(tmp_path)

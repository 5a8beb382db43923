"""Sweep summaries: one table over a multirun's jobs, and mean +- std per configuration over seeds.

    python -m tagger.summarize MULTIRUN_DIR

rebuilds the summary of a finished sweep; `SweepSummary`, a Hydra callback, writes it at the end
of every multirun. Files: summary.csv (one row per job), summary.md, summary.png (per-label test F1)
and summary_curves.png (each configuration's dev learning curve over seeds).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from hydra.experimental.callback import Callback
from scipy.stats import ttest_ind

from tagger.cli import in_job_order, job_overrides
from tagger.metrics import HEADLINE_KEYS
from tagger.reports import FIGURE_NAMES, pyplot, save_figure, write_atomically

log = logging.getLogger(__name__)

LABEL_PREFIX = "test_f1:"
CURVES_PICTURE = "summary_curves.png"


def job_dirs(sweep_dir: Path) -> list[Path]:
    """The job directories of a multirun (those with .hydra/overrides.yaml), in job order."""
    return in_job_order(p.parent.parent for p in Path(sweep_dir).glob("*/.hydra/overrides.yaml"))


def collect_jobs(sweep_dir: Path) -> pd.DataFrame:
    """One row per job: its overrides, its configuration (the overrides that vary between jobs, seed
    aside), seed, status, every dev/test headline figure, per-label test F1 (`test_f1:LABEL`),
    training label counts, the monitored dev figure, epochs, best epoch and training time."""
    rows = []
    overrides = {job: job_overrides(job) for job in job_dirs(sweep_dir)}
    shared = set.intersection(*(set(o) for o in overrides.values())) if overrides else set()
    for job, given in overrides.items():
        varying = [o for o in given if o not in shared and not o.startswith("seed=")]
        row = {"job": job.name, "config": " ".join(varying) or "(one configuration)",
               "seed": next((int(o.split("=", 1)[1]) for o in given if o.startswith("seed=")), 0),
               "overrides": " ".join(given)}
        if (job / "metrics.json").is_file():
            metrics = json.loads((job / "metrics.json").read_text())
            row["status"] = "ok"
            for split in ("dev", "test", "test_logit_adjusted"):
                for key in HEADLINE_KEYS:
                    if key in metrics.get(split, {}):
                        row[f"{split}_{key}"] = metrics[split][key]
            for key in ("monitor", "epochs_run", "best_epoch", "train_seconds", "train_tokens_per_s"):
                row[key] = metrics["run"].get(key)
            final = metrics.get("test") or metrics["dev"]
            row.update({f"{LABEL_PREFIX}{label}": s["f1"] for label, s in final["per_label"].items()})
            row.update({f"train_tokens:{label}": v["train_tokens"] for label, v in metrics["train_labels"].items()})
        elif (job / "failed.json").is_file():
            row.update(status="failed", error=json.loads((job / "failed.json").read_text())["error"])
        else:
            row.update(status="unfinished")
        rows.append(row)
    if not rows:
        raise FileNotFoundError(f"{sweep_dir}: no multirun jobs here (expected N/.hydra/overrides.yaml)")
    return pd.DataFrame(rows)


def welch_p_value(a, b) -> float:
    """Two-sided p-value of Welch's t-test (unequal variances) that a and b have the same mean."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2 or (np.ptp(a) == 0 and np.ptp(b) == 0):
        return float("nan")
    return float(ttest_ind(a, b, equal_var=False).pvalue)


def summary_table(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per configuration (overrides other than the seed), in sweep order: seeds run, mean and std of every
    figure, and Welch's p-value of test macro-F1 against the first configuration."""
    done = jobs[jobs["status"] == "ok"]
    figures = [c for c in done.columns if c.startswith(("dev_", "test_"))]
    order = list(dict.fromkeys(jobs["config"]))
    rows = []
    baseline = done.loc[done["config"] == order[0], "test_macro_f1"] if "test_macro_f1" in done else None
    for config in order:
        group = done[done["config"] == config]
        row = {"config": config, "seeds": len(group), "failed": int(((jobs["config"] == config) & (jobs["status"] != "ok")).sum())}
        for figure in figures:
            row[f"{figure}_mean"], row[f"{figure}_std"] = group[figure].mean(), group[figure].std(ddof=1)
        if baseline is not None and config != order[0]:
            row["p_vs_first"] = welch_p_value(group["test_macro_f1"], baseline)
        rows.append(row)
    return pd.DataFrame(rows).set_index("config")


def _mean_std(table: pd.DataFrame, figure: str) -> list[str]:
    means, stds = table[f"{figure}_mean"], table[f"{figure}_std"]
    best = means.max()
    cells = []
    for mean, std in zip(means, stds):
        text = "n/a" if math.isnan(mean) else f"{mean:.4f}" + ("" if math.isnan(std) else f" ± {std:.4f}")
        cells.append(f"**{text}**" if mean == best and not math.isnan(mean) else text)
    return cells


def label_frequencies(jobs: pd.DataFrame) -> pd.Series:
    """Training share of each label (from the first finished job), most frequent first."""
    counts = jobs.loc[jobs["status"] == "ok", [c for c in jobs.columns if c.startswith("train_tokens:")]].iloc[0]
    counts.index = [c.split(":", 1)[1] for c in counts.index]
    return (counts / counts.sum()).sort_values(ascending=False)


def dev_curves(sweep_dir: Path, jobs: pd.DataFrame) -> pd.DataFrame:
    """One row per epoch of every finished job with a history.csv: its config, seed, monitored dev figure
    (`monitor`), `epoch` (from 1) and the figure's `value` at that epoch."""
    frames = []
    for _, job in jobs[jobs["status"] == "ok"].iterrows():
        path = Path(sweep_dir) / str(job["job"]) / "history.csv"
        monitor = job.get("monitor")
        if not isinstance(monitor, str) or not path.is_file():
            continue
        history = pd.read_csv(path)
        if monitor in history:
            frames.append(pd.DataFrame({"config": job["config"], "seed": job["seed"], "monitor": monitor,
                                        "epoch": history["epoch"] + 1, "value": history[monitor]}))
    columns = ["config", "seed", "monitor", "epoch", "value"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def curve_bands(curves: pd.DataFrame) -> pd.DataFrame:
    """Per monitored figure, configuration (in sweep order) and epoch: the mean, min and max of the
    value over the seeds that ran that epoch, and how many did (`seeds`).

    >>> curves = pd.DataFrame({"config": "a", "seed": [0, 0, 1], "monitor": "val_macro_f1", "epoch": [1, 2, 1],
    ...                        "value": [0.2, 0.5, 0.4]})
    >>> curve_bands(curves)
            monitor config  epoch  mean  min  max  seeds
    0  val_macro_f1      a      1   0.3  0.2  0.4      2
    1  val_macro_f1      a      2   0.5  0.5  0.5      1
    """
    bands = curves.groupby(["monitor", "config", "epoch"], sort=False)["value"].agg(["mean", "min", "max", "count"])
    bands = bands.rename(columns={"count": "seeds"}).reset_index()
    order = {config: i for i, config in enumerate(dict.fromkeys(curves["config"]))}
    return bands.sort_values(["monitor", "config", "epoch"], key=lambda c: c.map(order) if c.name == "config" else c,
                             kind="stable", ignore_index=True)


def plot_curves(path: Path, bands: pd.DataFrame) -> None:
    """The dev learning curve of each configuration, one panel per monitored figure: the mean over seeds
    by epoch (dotted where only some seeds ran that far), a band from the lowest to the highest seed,
    and a star at the best epoch of the mean among the epochs that every seed ran."""
    plt = pyplot()
    monitors = list(dict.fromkeys(bands["monitor"]))
    figure, panels = plt.subplots(1, len(monitors), figsize=(7.5 * len(monitors), 4.8), squeeze=False)
    for axes, monitor in zip(panels[0], monitors):
        lower_is_better = monitor == "val_loss"
        for config, band in bands[bands["monitor"] == monitor].groupby("config", sort=False):
            every_seed = band["seeds"] == band["seeds"].max()
            line, = axes.plot(band["epoch"].where(every_seed), band["mean"].where(every_seed), linewidth=1.8)
            color = line.get_color()
            axes.plot(band["epoch"], band["mean"], color=color, linestyle=":", linewidth=1.2)
            axes.fill_between(band["epoch"], band["min"], band["max"], color=color, alpha=0.18, linewidth=0)
            complete = band.loc[every_seed, "mean"]  # a mean over fewer seeds is no fair best
            best = band.loc[complete.idxmin() if lower_is_better else complete.idxmax()]
            axes.plot(best["epoch"], best["mean"], marker="*", markersize=13, color=color, markeredgecolor="black",
                      linestyle="none")
            seeds = int(band["seeds"].max())
            line.set_label(f"{config} (best epoch {int(best['epoch'])}: {best['mean']:.3f}; "
                           f"{seeds} seed{'s' if seeds > 1 else ''})")
        axes.set_xlabel("epoch")
        axes.set_ylabel(f"{FIGURE_NAMES.get(monitor, monitor)} (mean over seeds)")
        axes.set_title(f"{FIGURE_NAMES.get(monitor, monitor)} by epoch: mean, min-max band over seeds, best epoch ★",
                       fontsize=10)
        axes.grid(alpha=0.3)
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.legend(fontsize=8)
    figure.tight_layout()
    save_figure(figure, path)


def write_summary(sweep_dir: Path) -> pd.DataFrame:
    """Write summary.csv, summary.md and summary.png into `sweep_dir`; return the per-job table."""
    sweep_dir = Path(sweep_dir)
    jobs = collect_jobs(sweep_dir)
    write_atomically(sweep_dir / "summary.csv", jobs.to_csv(index=False))
    lines = [f"# Sweep summary: {sweep_dir}", "", f"{len(jobs)} jobs, {int((jobs['status'] == 'ok').sum())} finished."]
    for _, job in jobs[jobs["status"] != "ok"].iterrows():
        lines.append(f"- job {job['job']} ({job['overrides']}): {job['status']}"
                     + (f": {job['error']}" if isinstance(job.get("error"), str) else ""))
    if (jobs["status"] == "ok").any():
        table = summary_table(jobs)
        headline = pd.DataFrame({"seeds": table["seeds"], "failed": table["failed"]})
        for figure in ("test_macro_f1", "test_entity_f1", "test_micro_f1", "dev_macro_f1",
                       "test_logit_adjusted_macro_f1"):
            if f"{figure}_mean" in table:
                headline[figure.replace("_", " ")] = _mean_std(table, figure)
        if "p_vs_first" in table:
            headline["p (macro-F1 vs first, Welch)"] = table["p_vs_first"].map(
                lambda p: "" if math.isnan(p) else f"{p:.3f}")
        frequencies = label_frequencies(jobs)
        per_label = pd.DataFrame({f"{label} ({100 * share:.2g} %)": _mean_std(table, f"{LABEL_PREFIX}{label}")
                                  for label, share in frequencies.items()}, index=table.index)
        lines += [
            "", "## Test figures, mean ± std over seeds (best in bold)", "", headline.to_markdown(), "",
            "p: Welch's two-sided t-test (unequal variances) of test macro-F1 over seeds against the first "
            "configuration of the sweep; blank where a side has fewer than two seeds.", "",
            "## Test F1 per label, labels by training frequency (share of training tokens)", "",
            per_label.T.to_markdown(), "",
        ]
        plot_labels(sweep_dir / "summary.png", table, frequencies)
        curves = dev_curves(sweep_dir, jobs)
        if len(curves):
            plot_curves(sweep_dir / CURVES_PICTURE, curve_bands(curves))
            lines += ["## Dev learning curves", "",
                      "Per configuration, the monitored dev figure by epoch: the mean over seeds (dotted where only "
                      "some seeds ran that far, the others having stopped early), a band from the lowest to the "
                      "highest seed, and a star at the best epoch of the mean among the epochs that every seed "
                      "ran.", "",
                      f"![dev learning curves, mean over seeds with min-max band]({CURVES_PICTURE})", ""]
    write_atomically(sweep_dir / "summary.md", "\n".join(lines) + "\n")
    log.info("sweep summary written to %s", sweep_dir / "summary.md")
    return jobs


def plot_labels(path: Path, table: pd.DataFrame, frequencies: pd.Series) -> None:
    """Per-label test F1 by configuration, labels by training frequency, error bars over seeds."""
    plt = pyplot()
    labels = list(frequencies.index)
    width = 0.8 / len(table)
    figure, axes = plt.subplots(figsize=(max(6, 0.6 * len(labels) * max(1, len(table) / 3)), 4.5))
    for i, (config, row) in enumerate(table.iterrows()):
        means = [row.get(f"{LABEL_PREFIX}{label}_mean", np.nan) for label in labels]
        stds = np.nan_to_num([row.get(f"{LABEL_PREFIX}{label}_std", np.nan) for label in labels])
        axes.bar(np.arange(len(labels)) + (i - (len(table) - 1) / 2) * width, means, width, yerr=stds,
                 capsize=2, label=config)
    axes.set_xticks(range(len(labels)), [f"{label}\n{100 * frequencies[label]:.2g} %" for label in labels],
                    rotation=90 if len(labels) > 8 else 0, fontsize=8)
    axes.set_xlabel("label (share of training tokens), most frequent first")
    axes.set_ylabel("test F1 (mean ± std over seeds)")
    axes.set_ylim(0, 1)
    axes.legend(fontsize=7)
    figure.tight_layout()
    save_figure(figure, path)


class SweepSummary(Callback):
    """Hydra callback: writes the sweep summary into the multirun directory when the sweep ends."""

    def on_multirun_end(self, config, **kwargs) -> None:
        write_summary(Path(config.hydra.sweep.dir))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Rebuild summary.csv, summary.md, summary.png and summary_curves.png "
                                                 "of a sweep.")
    parser.add_argument("sweep_dir", type=Path, help="a multirun directory, e.g. multirun/2026-11-23/12-00-00")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        write_summary(args.sweep_dir)
    except FileNotFoundError as error:
        sys.exit(str(error))
    print((args.sweep_dir / "summary.md").read_text())


if __name__ == "__main__":
    main()

"""Run outputs: metrics.json (machine-readable), report.md (the same as readable tables), confusion
matrices and figures, each written to a temporary file and renamed into place."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from tagger.metrics import headline, per_label_table


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path`, with its suffix, to write to: renamed onto `path` when the
    block ends, removed if the block fails. Readers never see a half-written `path`."""
    path = Path(path)
    temporary = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file (see `atomic_path`)."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_metrics(path: Path, metrics: dict) -> None:
    write_atomically(path, json.dumps(metrics, indent=1, ensure_ascii=False))


def write_report(path: Path, metrics: dict, labels: pd.DataFrame | None = None, *,
                 title: str = "Training report") -> None:
    """report.md: headline figures per split, per-label scores and, given `labels`, the label
    distribution and class weights. A split is any entry of `metrics` with per-label scores."""
    splits = [key for key, value in metrics.items() if isinstance(value, dict) and "per_label" in value]
    lines = [f"# {title}", ""]
    run = metrics["run"]
    lines += [f"- {key}: {value}" for key, value in run.items()] + [""]
    lines += ["## Summary", "", pd.DataFrame({s: headline(metrics[s]) for s in splits}).to_markdown(floatfmt=".4f"), ""]
    for split in splits:
        lines += [f"## Per-label scores: {split}", "", per_label_table(metrics[split]).to_markdown(floatfmt=".4f"), ""]
        if "entity" in metrics[split]:
            entity = pd.DataFrame.from_dict(metrics[split]["entity"]["per_type"], orient="index")
            lines += [f"### Entity level: {split}", "", entity.to_markdown(floatfmt=".4f"), ""]
    if labels is not None:
        lines += ["## Training labels and class weights", "", labels.to_markdown(floatfmt=".4g"), ""]
    if (path.parent / LEARNING_CURVES).is_file():
        lines += ["## Learning curves", "", f"![loss and dev scores by epoch]({LEARNING_CURVES})", ""]
    write_atomically(path, "\n".join(lines))


def write_scores(directory: Path, metrics: dict, split: str, *, labels: pd.DataFrame | None = None,
                 title: str = "Training report") -> None:
    """metrics.json, report.md (see `write_report`) and, for single-label tags, the confusion matrix of
    `split` into `directory`; for a training run (`directory` holds history.csv) the learning curves."""
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / "history.csv").is_file():
        write_learning_curves(directory, pd.read_csv(directory / "history.csv"), metrics["run"].get("best_epoch"))
    write_metrics(directory / "metrics.json", metrics)
    write_report(directory / "report.md", metrics, labels, title=title)
    if "confusion" in metrics[split]:  # single-label tags
        write_confusion(directory, metrics[split], split)


def pyplot():
    """matplotlib.pyplot with the file-only Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path: Path) -> None:
    """Write `figure` to `path` through a temporary file (see `atomic_path`), and close it."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=100)
    pyplot().close(figure)


def write_confusion(directory: Path, scores: dict, split: str) -> None:
    """confusion_SPLIT.csv (token counts, rows gold, columns predicted) and confusion_SPLIT.png, a heat map
    coloured by the share of each gold label's tokens (so rare labels show), annotated with counts."""
    plt = pyplot()
    labels, counts = scores["confusion"]["labels"], np.asarray(scores["confusion"]["counts"])
    table = pd.DataFrame(counts, index=pd.Index(labels, name="gold"), columns=pd.Index(labels, name="predicted"))
    write_atomically(directory / f"confusion_{split}.csv", table.to_csv())
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = 2 + 0.45 * len(labels)
    figure, axes = plt.subplots(figsize=(size + 1.5, size))
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(labels)), labels, rotation=90)
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    axes.set_title(f"{split}: share of each gold label's tokens")
    if len(labels) <= 30:
        for (i, j), count in np.ndenumerate(counts):
            if count:
                axes.text(j, i, str(count), ha="center", va="center", fontsize=7,
                          color="white" if shares[i, j] > 0.5 else "black")
    figure.colorbar(image, ax=axes, fraction=0.046)
    figure.tight_layout()
    save_figure(figure, directory / f"confusion_{split}.png")


LEARNING_CURVES = "history.png"
# history.csv's columns by what they hold, for plots
FIGURE_NAMES = {"loss": "training loss", "val_loss": "validation loss", "val_macro_f1": "dev macro-F1",
                "val_micro_f1": "dev micro-F1", "val_entity_f1": "dev entity F1"}
CURVES = tuple((column, FIGURE_NAMES[column]) for column in ("loss", "val_loss"))
DEV_SCORES = tuple((column, FIGURE_NAMES[column]) for column in ("val_macro_f1", "val_entity_f1"))


def write_learning_curves(directory: Path, history: pd.DataFrame, best_epoch: int | None = None) -> None:
    """history.png: training and validation loss (left) and the dev scores (right) by epoch, from a
    run's history.csv, with the best epoch marked."""
    plt = pyplot()
    epochs = history["epoch"] + 1
    figure, (losses, scores) = plt.subplots(1, 2, figsize=(11, 4))
    for axes, curves, ylabel in ((losses, CURVES, "loss (per real token)"), (scores, DEV_SCORES, "F1")):
        for column, name in curves:
            if column in history:
                axes.plot(epochs, history[column], marker="o", markersize=3, label=name)
        if best_epoch:
            axes.axvline(best_epoch, color="grey", linestyle="--", label=f"best epoch ({best_epoch})")
        axes.set_xlabel("epoch")
        axes.xaxis.get_major_locator().set_params(integer=True)  # whole epochs only
        axes.set_ylabel(ylabel)
        axes.grid(alpha=0.3)
        axes.legend()
    losses.set_title("loss")
    scores.set_title("dev scores")
    figure.tight_layout()
    save_figure(figure, directory / LEARNING_CURVES)

"""Accuracy benchmark: train a configuration on WNUT-2017 and NCBI-disease for several seeds under a
time budget each, and print dev and test entity F1 and macro-F1 as mean +- std over the seeds,
with training time and speed, ending in one machine-readable line.

    python scripts/accuracy.py                                  # = make accuracy: defaults, 3 seeds, 900 s each
    python scripts/accuracy.py --budget 300 -- weighting=log    # another configuration (Hydra overrides)
    python scripts/accuracy.py --summarize outputs/accuracy/RUN # the table of runs already made

Runs go one after another (never two at once, so that the budget means the same for each) into
`--out/DATASET/SEED/`; a run whose metrics.json exists is not trained again, so an interrupted
benchmark resumes where it stopped. Data sets are read from `--data-dir` (default ../shared/data).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np

log = logging.getLogger("accuracy")

DATASETS = ("wnut17", "ncbi_disease")
FIGURES = (("dev", "entity_f1"), ("test", "entity_f1"), ("dev", "macro_f1"), ("test", "macro_f1"))


def train_command(data_dir: Path, dataset: str, seed: int, run_dir: Path, budget: float, overrides) -> list[str]:
    files = {split: data_dir / dataset / f"{split}.conll" for split in ("train", "dev", "test")}
    return [sys.executable, "-m", "tagger.train", "data=conll", *(f"data.{s}={p}" for s, p in files.items()),
            f"seed={seed}", f"trainer.max_time={budget}", f"hydra.run.dir={run_dir}", "trainer.verbose=0",
            *overrides]


def summarize(out: Path) -> dict:
    """Per data set: the seeds' metrics.json figures as mean, std and values."""
    summary = {}
    for dataset_dir in sorted(p for p in out.iterdir() if p.is_dir()):
        runs = [json.loads(p.read_text()) for p in sorted(dataset_dir.glob("*/metrics.json"))]
        if not runs:
            continue
        values = {f"{split}_{key}": [r[split].get(key, float("nan")) for r in runs] for split, key in FIGURES}
        values["train_seconds"] = [r["run"]["train_seconds"] for r in runs]
        values["train_tokens_per_s"] = [r["run"]["train_tokens_per_s"] for r in runs]
        values["epochs"] = [r["run"]["epochs_run"] for r in runs]
        summary[dataset_dir.name] = {name: {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1
                                            else 0.0, "values": v} for name, v in values.items()}
        summary[dataset_dir.name]["seeds"] = len(runs)
    return summary


def table(summary: dict) -> str:
    """One row per data set: every figure as mean +- std (F1 in points)."""
    header = ["data", "seeds", "dev entity F1", "test entity F1", "dev macro-F1", "test macro-F1", "epochs",
              "train s", "train tok/s"]
    rows = [header, ["---"] * len(header)]
    for dataset, s in summary.items():
        f1 = [f"{100 * s[f'{split}_{key}']['mean']:.1f} ± {100 * s[f'{split}_{key}']['std']:.1f}"
              for split, key in FIGURES]
        rows.append([dataset, str(s["seeds"]), *f1, f"{s['epochs']['mean']:.0f}",
                     f"{s['train_seconds']['mean']:.0f}", f"{s['train_tokens_per_s']['mean']:,.0f}"])
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every run (after --)")
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", type=float, default=900.0, help="seconds of training per run (trainer.max_time)")
    parser.add_argument("--out", type=Path, help="runs directory (default outputs/accuracy/DATE_TIME)")
    parser.add_argument("--summarize", type=Path, help="print the table of an existing runs directory and stop")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = args.summarize or args.out or Path("outputs/accuracy") / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    if not args.summarize:
        missing = [d for d in args.datasets if not (args.data_dir / d / "train.conll").is_file()]
        if missing:
            parser.error(f"no {', '.join(missing)} under --data-dir {args.data_dir}: expected "
                         "DATASET/train.conll, dev.conll and test.conll there")
        for dataset in args.datasets:
            for seed in args.seeds:
                run_dir = out / dataset / str(seed)
                if (run_dir / "metrics.json").is_file():
                    continue
                log.info("training %s seed %d (budget %g s) into %s", dataset, seed, args.budget, run_dir)
                run_dir.mkdir(parents=True, exist_ok=True)
                with open(run_dir.with_suffix(".log"), "w") as output:
                    subprocess.run(train_command(args.data_dir, dataset, seed, run_dir, args.budget, args.overrides),
                                   check=True, stdout=output, stderr=subprocess.STDOUT)
    summary = summarize(out)
    print(f"runs in {out}; F1 in points, mean ± std over seeds\n{table(summary)}")
    line = {dataset: {name: round(s[name]["mean"], 4) for name in s if name != "seeds"} for dataset, s in summary.items()}
    print("accuracy: " + json.dumps(line, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

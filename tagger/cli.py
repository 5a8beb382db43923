"""What the command-line entry points share: where their configs are, plain error reports, and a
multirun's job directories."""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

# configs/ at the top of the checkout, beside the package (an editable install keeps it there). An absolute
# path, so that Hydra finds it from `python -m tagger.X`, from the console scripts (tagger-X, which call
# tagger.X:main) and from Hydra's Compose API alike: a relative config_path is read relative to a module
# only under `python -m`, and as a package otherwise.
CONFIG_DIR = str(Path(__file__).resolve().parent.parent / "configs")


def in_job_order(job_dirs) -> list[Path]:
    """Multirun job directories in job order: numbered ones by number, then the others by name.

    >>> [p.name for p in in_job_order([Path("m/10"), Path("m/b"), Path("m/2")])]
    ['2', '10', 'b']
    """
    return sorted(map(Path, job_dirs),
                  key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else p.name))


def job_overrides(job_dir: Path) -> list[str]:
    """The command-line overrides of a multirun job (from its .hydra/overrides.yaml); [] without that file."""
    path = Path(job_dir) / ".hydra" / "overrides.yaml"
    return [str(override) for override in OmegaConf.load(path)] if path.is_file() else []


def run_or_explain(task, cfg: DictConfig):
    """Run `task(cfg)`, with the failures a user can act on reported plainly.

    In a single run, a missing config value or bad input (ValueError, FileNotFoundError) ends the
    program with its message alone; the traceback stays available with HYDRA_FULL_ERROR=1, as for
    Hydra's own errors. In a multirun, any failure of a job is written to `failed.json` in the job's
    directory and the job returns NaN, so that the other jobs and the sweep summary still run.
    """
    try:
        missing = sorted(OmegaConf.missing_keys(cfg))
        if missing:
            raise ValueError(f"Missing mandatory value: {', '.join(missing)} (set it on the command line: "
                             f"{missing[0]}=...)")
        return task(cfg)
    except Exception as error:
        hydra = HydraConfig.get()
        if hydra.mode == RunMode.MULTIRUN:
            record = {"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
            (Path(hydra.runtime.output_dir) / "failed.json").write_text(json.dumps(record, indent=1))
            log.error("job %s failed, the sweep goes on: %s", hydra.job.num, record["error"])
            return float("nan")
        if not isinstance(error, (ValueError, FileNotFoundError)) or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        log.error("%s (set HYDRA_FULL_ERROR=1 for the traceback)", error)
        sys.exit(1)

"""What every command-line entry point shares."""

from __future__ import annotations

import logging
import os
import sys

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


def run_or_explain(task, cfg: DictConfig):
    """Run `task(cfg)`; a missing config value or bad input ends the program with its message alone.

    The traceback stays available with HYDRA_FULL_ERROR=1, as for Hydra's own errors.
    """
    missing = sorted(OmegaConf.missing_keys(cfg))
    try:
        if missing:
            raise ValueError(f"Missing mandatory value: {', '.join(missing)} (set it on the command line: "
                             f"{missing[0]}=...)")
        return task(cfg)
    except (ValueError, FileNotFoundError) as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        log.error("%s (set HYDRA_FULL_ERROR=1 for the traceback)", error)
        sys.exit(1)

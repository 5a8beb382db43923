"""Export a checkpoint as a TensorFlow SavedModel that tags token strings (tagger.serving):
`python -m tagger.export checkpoint=DIR output=DIR`.

TensorFlow is imported only once the config is read, so a config mistake gets Hydra's message at once.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig

from tagger.checkpoint import load_checkpoint
from tagger.cli import CONFIG_DIR, run_or_explain
from tagger.schema import register_configs

log = logging.getLogger(__name__)
register_configs()


def export(cfg: DictConfig) -> Path:
    """Export `cfg.checkpoint` into `cfg.output`."""
    output_dir = Path(cfg.output)
    if output_dir.exists() and (not output_dir.is_dir() or any(output_dir.iterdir())):
        raise ValueError(f"output={output_dir} exists and is not an empty directory; give a new or an empty directory")
    from tagger.serving import export_checkpoint  # TensorFlow

    checkpoint = load_checkpoint(cfg.checkpoint)
    export_checkpoint(checkpoint, output_dir, logit_adjustment=cfg.logit_adjustment, threshold=cfg.threshold)
    log.info("exported %s (%s head) as a SavedModel -> %s", checkpoint.path, checkpoint.info.head, output_dir)
    return output_dir


@hydra.main(config_path=CONFIG_DIR, config_name="export", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run_or_explain(export, cfg)


if __name__ == "__main__":
    main()

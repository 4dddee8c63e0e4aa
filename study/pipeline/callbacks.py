"""Hydra callbacks of the pipeline.

A sweep (``-m``) runs one job per model into one shared ``out=``; each job writes the
report it can see, but jobs finish in any order, so when the sweep ends the report is
rebuilt once from every job's manifests.
"""

from __future__ import annotations

from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf


class ReportOnMultirunEnd(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from study.cli import to_typed
        from study.config import Config
        from study.pipeline.stage import write_report

        # The sweep's own config carries hydra's node, which the schema does not know.
        plain = OmegaConf.masked_copy(config, [str(k) for k in config if k != "hydra"])
        merged = OmegaConf.merge(OmegaConf.structured(Config), plain)
        assert isinstance(merged, DictConfig)
        typed = to_typed(merged)
        if typed.stage == "pipeline":
            write_report(typed)

"""Command line: ``python -m study stage=NAME key=value ...`` (Hydra).

Exit status: 0 success; 2 bad input or configuration (one message, no traceback, no
partial output); 3 a fit that failed its diagnostics.
"""

from __future__ import annotations

import sys

import hydra
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from study.choices import check_choices
from study.config import Config
from study.errors import ConfigError, DiagnosticsFailedError, StudyInputError
from study.pipeline.models import load_model
from study.resources import conf_dir, conf_search_path

# The shipped configs (study.resources): a folder for tests that compose in process, and
# Hydra's primary search path entry (pkg://study._conf once installed).
CONF_DIR = str(conf_dir())

ConfigStore.instance().store(name="base_config", node=Config)


def to_typed(cfg: DictConfig) -> Config:
    """Validate the composed config against the schema and return the dataclass.

    Beyond the schema: settings with a fixed set of values (study.choices) and the
    models of ``pipeline.models``, composed as the pipeline will compose them."""
    typed = OmegaConf.to_object(cfg)
    if not isinstance(typed, Config):  # pragma: no cover - Hydra guarantees the schema
        raise ConfigError("configuration did not compose to study.config.Config")
    if typed.runs < 0:
        raise ConfigError(f"runs must be 0 (score only) or more, got {typed.runs}")
    if typed.data.limit is not None and typed.data.limit < 1:
        raise ConfigError(f"data.limit must be a positive integer, got {typed.data.limit}")
    check_choices(typed)
    for name in typed.pipeline.models:
        load_model(name)
    return typed


_task_started = False


@hydra.main(version_base="1.3", config_path=conf_search_path(), config_name="config")
def _hydra_entry(cfg: DictConfig) -> None:
    from study.stages import resolve

    global _task_started
    _task_started = True

    try:
        typed = to_typed(cfg)
        resolve(typed.stage)(typed)
    except (StudyInputError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except DiagnosticsFailedError as err:
        print(f"diagnostics failed: {err}", file=sys.stderr)
        sys.exit(3)


def main() -> None:
    try:
        _hydra_entry()
    except SystemExit as stop:
        # Hydra exits 1 both for a bad override (before our task runs) and for a crash
        # inside it; a bad override is a configuration error, which we report as 2.
        if stop.code == 1 and not _task_started:
            sys.exit(2)
        raise


if __name__ == "__main__":
    main()

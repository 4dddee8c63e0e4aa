"""The models of ``pipeline.models``, each composed by Hydra like ``model=NAME`` would be.

Each name is composed through Hydra with the run's own command-line overrides, its
``model=`` choice replaced by the name, so an override such as ``model.parameters=...``
(or one an experiment makes) reaches every model of the run, and a key the model schema
lacks fails as it does for ``model=``. Configs come from Hydra's search path: the shipped
``conf/model/`` (see :mod:`study.resources`) and any ``--config-dir`` of the user.
"""

from __future__ import annotations

from collections.abc import Sequence

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import OmegaConf

from study.engines.config import ModelConfig
from study.errors import ConfigError
from study.resources import conf_dir


def load_model(name: str) -> ModelConfig:
    """The model ``name`` under the running command's overrides (none outside one)."""
    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    return compose_model(name, overrides)


def compose_model(name: str, overrides: Sequence[str] = ()) -> ModelConfig:
    """Compose the whole config with ``overrides`` and ``model=name``; return its model.

    Uses the running Hydra application's search path when there is one, else the shipped
    configs.
    """
    parser = OverridesParser.create()
    # The run's own model choice gives way to this name; everything else applies.
    kept = [text for text in overrides if parser.parse_override(text).key_or_group != "model"]
    query = [*kept, f"model={name}"]
    import study.cli  # noqa: F401  (puts the schema, base_config, in Hydra's config store)

    try:
        if GlobalHydra.instance().is_initialized():
            composed = compose("config", overrides=query)
        else:
            with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
                composed = compose("config", overrides=query)
    except HydraException as err:
        raise ConfigError(f"pipeline.models: cannot compose model {name!r}: {err}") from None
    model = OmegaConf.to_object(composed.model)
    assert isinstance(model, ModelConfig)
    return model

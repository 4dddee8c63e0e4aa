"""Engines by name: ``engine=NAME`` on the command line picks one.

Each entry maps a name to ``"module:factory"``; the module is imported only when the
engine is built, so choosing the simulated engine never loads llama.cpp or vLLM.

Extension point (how to add an engine)
--------------------------------------
1. Write a module ``study/engines/<name>.py`` with a factory
   ``build(engine: EngineConfig, model: ModelConfig) -> Engine`` returning an object
   that satisfies :class:`study.engines.base.Engine` (``fingerprint``, ``score``,
   ``sample``, ``chat_prompt``, ``close``; read that module's docstring for the
   contract: character spans, piecewise tokenisation, one request per participant).
2. Add one line to :data:`ENGINES` below: ``"<name>": "study.engines.<name>:build"``.
3. Settings: subclass :class:`study.engines.config.EngineConfig` with your fields
   (``name`` defaulting to ``"<name>"``) and add it to
   ``study.engines.config.ENGINE_SCHEMAS``; then write ``conf/engine/<name>.yaml``::

       defaults:
         - <name>_schema
         - _self_
       name: <name>
       some_setting: 1

   Models are a separate group (``conf/model/``, :class:`~study.engines.config.ModelConfig`);
   add a field there only if an engine needs to know where its own weights live.
4. The store keys every request by ``engine.fingerprint()`` (plus the prompt, mode,
   sampling settings and seed): put in it everything that changes results.

>>> sorted(ENGINES)
['llamacpp', 'openai', 'simulated', 'vllm', 'vllm_server']
"""

from __future__ import annotations

import importlib

from study.engines.base import Engine
from study.engines.config import EngineConfig, ModelConfig
from study.errors import ConfigError

ENGINES: dict[str, str] = {
    "simulated": "study.engines.simulated:build",
    "llamacpp": "study.engines.llamacpp:build",
    "vllm": "study.engines.vllm:build",
    "vllm_server": "study.engines.vllm_server:build",
    "openai": "study.engines.openai_compat:build",
}


def build_engine(engine: EngineConfig, model: ModelConfig) -> Engine:
    """Construct the engine ``engine.name`` for ``model``.

    >>> from study.engines.config import SimulatedEngineConfig
    >>> built = build_engine(SimulatedEngineConfig(), ModelConfig())
    >>> built.fingerprint()["engine"]
    'simulated'
    >>> build_engine(EngineConfig(name="nope"), ModelConfig())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    study.errors.ConfigError: unknown engine 'nope'; known engines: llamacpp, openai, ...
    """
    try:
        target = ENGINES[engine.name]
    except KeyError:
        known = ", ".join(sorted(ENGINES))
        raise ConfigError(f"unknown engine {engine.name!r}; known engines: {known}") from None
    module_name, factory_name = target.split(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    built = factory(engine, model)
    if not isinstance(built, Engine):  # pragma: no cover - a broken adapter is a bug
        raise TypeError(f"{target} did not return a study.engines.base.Engine")
    return built

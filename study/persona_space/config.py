"""Configuration of C6's persona space (``conf/persona_space/``): the role texts and the
statistics' settings. :func:`load_config` reads a YAML file into a checked
:class:`PersonaSpaceConfig`; :func:`role_personas` gives the ``role:NAME`` conditions'
preamble texts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from study.errors import ConfigError

ROLE_PREFIX = "role:"
MIN_ROLES = 20


@dataclass
class PersonaSpaceConfig:
    # A role's preamble: ``{text}`` is replaced by the role's text.
    template: str = "Interviewer: How would you describe yourself?\nInterviewee: {text}\n\n"
    # name -> short first-person text; at least MIN_ROLES of them.
    roles: dict[str, str] = field(default_factory=dict)
    # Persons per experiment in the pipeline's C6 analysis (the first ones); null: all
    # persons of the data step.
    persons: int | None = None
    assistant: list[str] = field(default_factory=lambda: ["assistant"])
    layers: list[int] | None = None
    drift_layer: int | None = None
    null_draws: int = 1000
    null_quantile: float = 0.95
    split_draws: int = 20
    variance_target: float = 0.7
    # The pipeline's verdict needs the axis reproducible across persons: a split-half
    # cosine at least this (study.pipeline.persona_space_fit).
    min_split_half: float = 0.8
    prob: float = 0.94
    # Steering (the pipeline's second C6 step): alpha x axis added at the middle layer,
    # alpha in standard deviations of the projection on the axis; must include 0 (the
    # unsteered reference). Empty: no steering step.
    steering: list[float] = field(default_factory=lambda: [-4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0])
    # The condition whose prompts are steered.
    steering_condition: str = "none"
    seed: int = 0


def check(cfg: PersonaSpaceConfig, where: str = "persona_space") -> PersonaSpaceConfig:
    """Raise :class:`ConfigError` naming the first bad setting; return ``cfg``.

    >>> check(PersonaSpaceConfig(roles={"pirate": "Arr."}))
    Traceback (most recent call last):
    study.errors.ConfigError: persona_space.roles: give at least 20 roles, got 1
    """
    if "{text}" not in cfg.template:
        raise ConfigError(f"{where}.template must contain {{text}}")
    if len(cfg.roles) < MIN_ROLES:
        raise ConfigError(f"{where}.roles: give at least {MIN_ROLES} roles, got {len(cfg.roles)}")
    for name, text in cfg.roles.items():
        if not isinstance(name, str) or not name.strip() or any(c in name for c in ":,= "):
            raise ConfigError(
                f"{where}.roles: role name {name!r} must be non-empty text without ':', ',', "
                "'=' or spaces (it becomes the condition role:NAME)"
            )
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"{where}.roles.{name}: the text is empty")
    if not cfg.assistant or not all(isinstance(a, str) and a for a in cfg.assistant):
        raise ConfigError(f"{where}.assistant: name at least one condition, as text")
    if cfg.persons is not None and (
        not isinstance(cfg.persons, int) or isinstance(cfg.persons, bool) or cfg.persons < 1
    ):
        raise ConfigError(f"{where}.persons must be null or an integer >= 1, got {cfg.persons!r}")
    for name in ("null_draws", "split_draws"):
        value = getattr(cfg, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{where}.{name} must be an integer >= 1, got {value!r}")
    for name in ("null_quantile", "variance_target", "prob", "min_split_half"):
        value = getattr(cfg, name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < 1:
            raise ConfigError(f"{where}.{name} must be a number in (0, 1), got {value!r}")
    if cfg.layers is not None and (
        not cfg.layers or not all(isinstance(x, int) and x >= 0 for x in cfg.layers)
    ):
        raise ConfigError(f"{where}.layers must be null or a list of layer numbers >= 0")
    if cfg.steering and (
        not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in cfg.steering)
        or 0 not in cfg.steering
        or len(set(cfg.steering)) != len(cfg.steering)
    ):
        raise ConfigError(
            f"{where}.steering must be distinct numbers including 0 (the unsteered "
            f"reference), got {cfg.steering!r}"
        )
    if cfg.drift_layer is not None and (
        not isinstance(cfg.drift_layer, int) or cfg.drift_layer < 0
    ):
        raise ConfigError(f"{where}.drift_layer must be null or a layer number >= 0")
    return cfg


def load_config(path: str | Path) -> PersonaSpaceConfig:
    """Read and check a YAML file such as ``conf/persona_space/default.yaml``."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read the persona-space config: {err}") from err
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(raw).__name__}")
    known = {f.name for f in dataclasses.fields(PersonaSpaceConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {unknown}; known: {sorted(known)}")
    roles: Any = raw.get("roles", {})
    if not isinstance(roles, dict):
        raise ConfigError(f"{path}: roles must be a mapping name -> text")
    return check(PersonaSpaceConfig(**raw), where=str(path))


def role_personas(cfg: PersonaSpaceConfig) -> dict[str, str]:
    """``role:NAME`` -> the role's preamble text, in the config's order.

    >>> roles = {f"r{i}": f"I am number {i}." for i in range(20)}
    >>> role_personas(PersonaSpaceConfig(template="Q\\nA: {text}\\n\\n", roles=roles))["role:r3"]
    'Q\\nA: I am number 3.\\n\\n'
    """
    check(cfg)
    return {
        f"{ROLE_PREFIX}{name}": cfg.template.replace("{text}", text.strip())
        for name, text in cfg.roles.items()
    }

"""Shared helpers: the preamble configs as the command line composes them, shipped
participants, and small participants with choice points."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir

from study.cli import CONF_DIR, to_typed
from study.config import Config
from study.data import iter_participants
from study.personas.config import PersonaTextsConfig, PreambleConfig
from study.records import ChoicePoint, Participant

DATA = Path(__file__).resolve().parents[2] / "data" / "psych201"
TEXTS = PersonaTextsConfig(archetypes={"bold": "I take risks."})


def composed(*overrides: str) -> Config:
    """The typed config the command line builds from ``overrides``."""
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return to_typed(compose("config", overrides=list(overrides)))


def preamble_config(name: str = "paper", *overrides: str) -> PreambleConfig:
    return composed(f"preamble={name}", *overrides).preamble


def shipped(experiment: str, limit: int | None = None) -> list[Participant]:
    return list(iter_participants(DATA / experiment, limit=limit))


def person(pid: str, experiment: str = "exp", **profile) -> Participant:
    """A participant with two choice points, ``L`` and ``R<pid>``."""
    transcript = f"Trial 1: you press <<L>>. Trial 2: you press <<R{pid}>>."
    first = transcript.index("<<L>>") + 2
    second = transcript.index(f"<<R{pid}>>") + 2
    choices = (
        ChoicePoint(experiment, pid, 0, "L", first, first + 1),
        ChoicePoint(experiment, pid, 1, f"R{pid}", second, second + 1 + len(pid)),
    )
    return Participant(experiment, pid, transcript, profile=profile, choices=choices)

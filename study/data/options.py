"""The option set of a discrete-choice experiment (STUDY.md, "Option distribution").

The rule: the options the experiment's data card lists; when it lists none, the
options that participant ever gave. A card that marks the experiment as not discrete
(free text) means there is no option set. Cards are looked up beside the data first
(``data_card.yaml`` or ``<experiment>.yaml`` in the folder of the prompts file, where the
synthetic generator writes them), then in the project's ``data_cards/``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from study.data.cards import MAX_DISCRETE_OPTIONS, read_card_yaml
from study.records import Participant

PROJECT_CARDS = Path(__file__).resolve().parents[2] / "data_cards"
CARD_BESIDE_DATA = "data_card.yaml"


def card_for(experiment: str, source: str = "") -> dict[str, Any] | None:
    """The data card of ``experiment``, or None when there is none."""
    folder = Path(source.split("!")[0]).parent if source else None
    candidates = []
    if folder is not None:
        candidates += [folder / CARD_BESIDE_DATA, folder / f"{experiment}.yaml"]
    candidates.append(PROJECT_CARDS / f"{experiment}.yaml")
    for path in candidates:
        card = _read_cached(str(path.resolve()))
        if card is not None and card.get("experiment") == experiment:
            return card
    return None


@functools.lru_cache(maxsize=256)
def _read_cached(path: str) -> dict[str, Any] | None:
    card_path = Path(path)
    return read_card_yaml(card_path) if card_path.is_file() else None


def experiment_options(experiment: str | Participant, source: str = "") -> tuple[str, ...] | None:
    """The options the experiment's data card lists, or None (no card, no fixed list).
    ``experiment`` is a name (``source``: where its data is, to find a card beside it)
    or a participant of the experiment.

    >>> experiment_options("busch2024_stroop")
    ('down', 'left', 'right')
    >>> experiment_options("thoma2025riskychoice") is None  # letters vary by participant
    True
    """
    if isinstance(experiment, Participant):
        name, source = experiment.experiment, experiment.source
    else:
        name = experiment
    card = card_for(name, source)
    if card is None or not card.get("discrete") or not card.get("options"):
        return None
    return tuple(str(option) for option in card["options"])


def options_for(participant: Participant) -> tuple[str, ...] | None:
    """The options to normalise over at ``participant``'s choice points, or None when the
    experiment is not a discrete choice.

    >>> from study.data.loader import SHIPPED_DATA, iter_participants
    >>> person = next(iter_participants(SHIPPED_DATA / "thoma2025riskychoice", limit=1))
    >>> options_for(person)  # thoma's card lists none: the two letters this child used
    ('O', 'Q')
    """
    card = card_for(participant.experiment, participant.source)
    if card is not None:
        if not card.get("discrete"):
            return None
        listed = experiment_options(participant)
        if listed is not None:
            return listed
    own = tuple(sorted({choice.response for choice in participant.choices}))
    if card is None and len(own) > MAX_DISCRETE_OPTIONS:
        return None  # no card and many distinct answers: free text, not a choice
    return own

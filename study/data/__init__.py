"""Psych-201 experiments in: streaming loader, validation, tables, data cards, options.

>>> from study.data import iter_participants, load_tables, options_for
"""

from study.data.loader import iter_participants, load_tables, to_participant
from study.data.options import card_for, experiment_options, options_for

__all__ = [
    "card_for",
    "experiment_options",
    "iter_participants",
    "load_tables",
    "options_for",
    "to_participant",
]

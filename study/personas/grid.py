"""Names of the persona grid's candidates (C5's library): one level per dimension,
written ``DIM=LEVEL,DIM=LEVEL,...`` in the dimensions' order.

The name is shared by three parties that must agree on it: the library
(:func:`study.fitted.config.library`), the synthetic generator that gives persons a
latent type from the same grid (``synth.persona_types``), and the simulated engine,
which rewards a candidate for matching the person's type.

>>> name = candidate_name({"risk": "averse", "exploration": "low"})
>>> name
'risk=averse,exploration=low'
>>> parse_candidate(name)
{'risk': 'averse', 'exploration': 'low'}
>>> parse_candidate("a free text") is None
True
>>> match_share(parse_candidate(name), parse_candidate("risk=averse,exploration=high"))
0.5
"""

from __future__ import annotations

from collections.abc import Mapping


def candidate_name(levels: Mapping[str, str]) -> str:
    """The name of the candidate with one level per dimension (in the mapping's order)."""
    return ",".join(f"{dimension}={level}" for dimension, level in levels.items())


def parse_candidate(name: str) -> dict[str, str] | None:
    """Dimension -> level of a candidate's name; None for a name that is not one."""
    levels = {}
    for part in name.split(","):
        dimension, sep, level = part.partition("=")
        if not sep or not dimension or not level or dimension in levels:
            return None
        levels[dimension] = level
    return levels


def match_share(candidate: Mapping[str, str], person_type: Mapping[str, str]) -> float:
    """The share of the type's dimensions on which the candidate has the type's level."""
    if not person_type:
        raise ValueError("a latent type has at least one dimension")
    same = sum(candidate.get(dimension) == level for dimension, level in person_type.items())
    return same / len(person_type)

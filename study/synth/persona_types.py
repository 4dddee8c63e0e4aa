"""Latent persona types of synthetic persons (C5's ground truth).

Each person gets one level of every dimension of the persona grid, independently and
uniformly, so their type is one candidate of the library; the simulated engine rewards a
candidate by how much of the type it matches (study.engines.simulated_fit). The type
does not change the person's simulated choices: it is what a persona can fit, and
nothing else, so that the fit's truth is known exactly.

>>> import numpy as np
>>> draw_types(np.random.default_rng(1), 3, {"risk": ["averse", "seeking"], "pace": ["slow"]})
['risk=averse,pace=slow', 'risk=seeking,pace=slow', 'risk=seeking,pace=slow']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from study.personas.grid import candidate_name


def draw_types(
    rng: np.random.Generator, n: int, dimensions: Mapping[str, Iterable[str]]
) -> list[str]:
    """``n`` latent types, named as the grid's candidates."""
    levels = {dimension: list(names) for dimension, names in dimensions.items()}
    draws = {dimension: rng.integers(len(names), size=n) for dimension, names in levels.items()}
    return [
        candidate_name({dimension: levels[dimension][draws[dimension][i]] for dimension in levels})
        for i in range(n)
    ]

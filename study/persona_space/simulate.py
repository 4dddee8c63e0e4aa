"""Synthetic activations and score-mode NLLs with a known truth, for C6's ground-truth
checks.

Activations, per layer, for person ``p``, condition ``q`` and choice index ``k``::

    h = m_q + z_p + (cell_sd * g_pq + drift_q * (k - centre)) d + noise * e

``m_q`` random isotropic condition means (``condition_sd`` per coordinate), plus
``shift * d`` for the assistant; ``d`` the planted unit direction (the same at every
layer), and ``offsets[q] * d`` for any other condition given a place on it; ``z_p``
a person's isotropic offset; ``g_pq`` and ``e`` standard normal. With
``shift = 0`` the assistant is one condition like the others. ``drift_q`` is the slope
of the projection on ``d`` per choice index.

NLLs: ``nll_none ~ Normal(2, 0.3)`` per choice point, and under persona ``q``
``nll_q = nll_none + max(gap, 0)`` with ``gap = level_q + u_p + decay_q log(k + 1) +
noise``: the persona's effect, fading when ``decay_q < 0``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Activations:
    keys: pd.DataFrame
    values: np.ndarray
    direction: np.ndarray


def simulate_activations(
    conditions: Sequence[str],
    *,
    persons: int = 12,
    experiments: int = 2,
    choices: int = 10,
    layers: int = 3,
    hidden: int = 32,
    shift: float = 0.0,
    condition_sd: float = 0.3,
    person_sd: float = 0.5,
    cell_sd: float = 0.0,
    noise: float = 1.0,
    drift: Mapping[str, float] | None = None,
    offsets: Mapping[str, float] | None = None,
    assistant: str = "assistant",
    seed: int = 0,
) -> Activations:
    """``persons`` per experiment, participant ids repeating across experiments."""
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=hidden)
    direction /= np.linalg.norm(direction)
    drift = dict(drift or {})
    index = np.arange(choices)
    centre = (choices - 1) / 2.0
    layer_means = []
    for _ in range(layers):
        means = {q: rng.normal(0.0, condition_sd, size=hidden) for q in conditions}
        shifts = {**dict(offsets or {}), assistant: shift}
        for q in conditions:
            means[q] = means[q] + shifts.get(q, 0.0) * direction
        layer_means.append(means)
    keys, blocks = [], []
    for experiment in range(experiments):
        for participant in range(persons):
            offset = rng.normal(0.0, person_sd, size=(layers, 1, hidden))
            for q in conditions:
                cell = cell_sd * rng.normal()
                along = cell + drift.get(q, 0.0) * (index - centre)
                block = np.stack([layer_means[layer][q] for layer in range(layers)])[:, None, :]
                block = block + offset + along[None, :, None] * direction
                block = block + rng.normal(0.0, noise, size=(layers, choices, hidden))
                blocks.append(block.transpose(1, 0, 2))
                keys.append(
                    pd.DataFrame(
                        {
                            "experiment": f"e{experiment}",
                            "participant": participant,
                            "condition": q,
                            "index": index,
                        }
                    )
                )
    values = np.concatenate(blocks).astype(np.float32)
    return Activations(pd.concat(keys, ignore_index=True), values, direction)


def simulate_nll(
    decay: Mapping[str, float],
    *,
    level: float = 1.0,
    persons: int = 12,
    experiments: int = 2,
    choices: int = 30,
    person_sd: float = 0.1,
    noise: float = 0.1,
    seed: int = 0,
) -> pd.DataFrame:
    """Long rows ``[experiment, participant, persona, index, nll]`` under ``none`` and
    each persona of ``decay`` (module docstring)."""
    rng = np.random.default_rng(seed)
    index = np.arange(choices)
    parts = []
    for experiment in range(experiments):
        for participant in range(persons):
            base = rng.normal(2.0, 0.3, size=choices)
            who = {"experiment": f"e{experiment}", "participant": participant, "index": index}
            parts.append(pd.DataFrame({**who, "persona": "none", "nll": base}))
            u = rng.normal(0.0, person_sd)
            for persona, slope in decay.items():
                gap = level + u + slope * np.log(index + 1.0) + rng.normal(0.0, noise, choices)
                parts.append(
                    pd.DataFrame({**who, "persona": persona, "nll": base + np.maximum(gap, 0.0)})
                )
    return pd.concat(parts, ignore_index=True)

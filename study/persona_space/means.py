"""Means of an :class:`~study.persona_space.records.ActivationSet` at one layer: per
(person, condition) cell over its choice points, then per condition over persons.

A sparse indicator matrix sums the rows of each cell in one product, so a layer of
hundreds of thousands of choice points costs one pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import sparse

from study.persona_space.records import CONDITION, PERSON, ActivationSet


@dataclass(frozen=True)
class Cells:
    """``means[p, c]``: person ``persons[p]``'s mean state under ``conditions[c]``
    (zeros where ``present[p, c]`` is False); ``person_of_row`` and ``condition_of_row``
    index the set's rows into them."""

    persons: list[str]
    conditions: list[str]
    means: np.ndarray
    present: np.ndarray
    person_of_row: np.ndarray
    condition_of_row: np.ndarray


def codes(keys: pl.DataFrame) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Sorted persons and conditions and each row's codes into them."""
    persons = sorted(set(keys[PERSON].to_list()))
    conditions = sorted(set(keys[CONDITION].to_list()))
    person_code = {p: i for i, p in enumerate(persons)}
    condition_code = {c: i for i, c in enumerate(conditions)}
    person_of_row = np.array([person_code[p] for p in keys[PERSON].to_list()], dtype=np.int64)
    condition_of_row = np.array(
        [condition_code[c] for c in keys[CONDITION].to_list()], dtype=np.int64
    )
    return persons, conditions, person_of_row, condition_of_row


def cell_means(acts: ActivationSet, layer: int) -> Cells:
    """Per (person, condition) mean state at ``layer``."""
    persons, conditions, person_of_row, condition_of_row = codes(acts.keys)
    n_cells = len(persons) * len(conditions)
    cell = person_of_row * len(conditions) + condition_of_row
    indicator = sparse.csr_matrix(
        (np.ones(cell.size), (cell, np.arange(cell.size))), shape=(n_cells, cell.size)
    )
    counts = np.bincount(cell, minlength=n_cells).astype(np.float64)
    sums = indicator @ acts.layer(layer)
    means = sums / np.maximum(counts, 1.0)[:, None]
    shape = (len(persons), len(conditions))
    return Cells(
        persons=persons,
        conditions=conditions,
        means=means.reshape(*shape, -1),
        present=(counts > 0).reshape(shape),
        person_of_row=person_of_row,
        condition_of_row=condition_of_row,
    )


def condition_means(cells: Cells, persons: np.ndarray | None = None) -> np.ndarray:
    """Per condition, the mean over persons (all, or the boolean mask ``persons``) of
    their cell means; NaN for a condition none of them has."""
    chosen = np.ones(len(cells.persons), dtype=bool) if persons is None else persons
    present = cells.present[chosen]
    totals = np.einsum("pc,pch->ch", present.astype(np.float64), cells.means[chosen])
    counts = present.sum(axis=0).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return totals / counts[:, None]

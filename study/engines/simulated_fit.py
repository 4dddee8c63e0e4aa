"""The simulated engine's C5 truth: persons with latent types, candidates that fit them.

A person's latent type is one candidate of the persona grid (study.personas.grid), read
from a table the synthetic generator writes (``truth.parquet`` with
``synth.persona_types=true``). A request under persona ``archetype:NAME``, NAME a grid
candidate, adds to the log-odds of matching the human at each choice point

    fit_gain * share(candidate, type) + fit_noise * z

where ``share`` is the share of the type's dimensions the candidate matches (1 for the
type itself) and ``z`` a standard normal drawn per (person, candidate, choice point):
some candidates fit some choices better by chance, so that selecting a candidate on
the first K choices is a real selection. With ``fit_gain = 0`` no candidate fits a
person better than another in expectation: the person-specific benefit is exactly 0.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from study.errors import ConfigError, StudyInputError
from study.personas.grid import match_share, parse_candidate

CANDIDATE_PREFIX = "archetype:"
TYPE_COLUMNS = ("experiment", "participant", "persona_type")

Person = tuple[str, str]


def load_types(path: str | Path) -> dict[Person, dict[str, str]]:
    """(experiment, participant) -> the person's type, from a parquet or CSV file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"engine.fit_types: no such file {path}")
    is_csv = path.suffix == ".csv"
    table = pl.read_csv(path, infer_schema=False) if is_csv else pl.read_parquet(path)
    missing = [c for c in TYPE_COLUMNS if c not in table.columns]
    if missing:
        raise StudyInputError(f"engine.fit_types needs columns {missing}", file=str(path))
    types: dict[Person, dict[str, str]] = {}
    for row, (experiment, participant, name) in enumerate(
        table.select(TYPE_COLUMNS).cast(pl.String).iter_rows(), start=1
    ):
        levels = parse_candidate(name or "")
        if levels is None:
            # A CSV's line counts its header; a parquet file has rows, not lines.
            raise StudyInputError(
                f"{name!r} is not a grid candidate's name (DIM=LEVEL,...)"
                + ("" if is_csv else f" (row {row})"),
                file=str(path),
                line=row + 1 if is_csv else None,
                participant=f"{experiment}/{participant}",
                field="persona_type",
            )
        types[(experiment, participant)] = levels
    return types


class FitTruth:
    """The fit term of the module doc for one engine configuration; ``digest`` is the
    types file's sha256 ("" without one)."""

    def __init__(
        self, gain: float, noise: float, types: Mapping[Person, dict[str, str]], digest: str = ""
    ) -> None:
        self.gain, self.noise, self.types, self.digest = gain, noise, types, digest

    @classmethod
    def of(cls, gain: float, noise: float, path: str | None) -> FitTruth:
        if not path:
            return cls(gain, noise, {})
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest() if Path(path).is_file() else ""
        return cls(gain, noise, load_types(path), digest)

    def candidate(self, persona: str) -> dict[str, str] | None:
        """The candidate's levels when ``persona`` is a grid candidate, else None."""
        if not persona.startswith(CANDIDATE_PREFIX):
            return None
        return parse_candidate(persona.removeprefix(CANDIDATE_PREFIX))

    def share(self, experiment: str, participant: str, levels: Mapping[str, str]) -> float:
        """How much of the person's type the candidate matches (0 when fit_gain is 0,
        which needs no types)."""
        if self.gain == 0.0:
            return 0.0
        person_type = self.types.get((experiment, participant))
        if person_type is None:
            raise StudyInputError(
                "engine.fit_types has no latent type for this person",
                participant=f"{experiment}/{participant}",
                field="persona_type",
            )
        return match_share(levels, person_type)


def donor_match_shares(dimensions: Mapping[str, Sequence[str]]) -> dict[float, float]:
    """Share matched -> probability, for a donor whose type is another person's: drawn
    uniformly from the grid, so the person's own with probability one over the grid's
    size (the same for every own type: the grid is a product).

    >>> donor_match_shares({"risk": ["a", "b", "c"], "pace": ["x", "y"]})
    {1.0: 0.16666666666666666, 0.5: 0.5, 0.0: 0.3333333333333333}
    """
    own = {dimension: levels[0] for dimension, levels in dimensions.items()}
    counts: dict[float, int] = {}
    types = list(itertools.product(*dimensions.values()))
    for candidate in types:
        share = match_share(dict(zip(dimensions, candidate, strict=True)), own)
        counts[share] = counts.get(share, 0) + 1
    return {share: count / len(types) for share, count in counts.items()}


def expected_person_specific_benefit(
    gain: float,
    mu: float,
    sd_person: float,
    item_effects: Sequence[float],
    dimensions: Mapping[str, Sequence[str]],
    nodes: int = 60,
) -> float:
    """The true mean of NLL(fitted_other) - NLL(fitted_own) per held-out choice, over
    persons of one experiment, when selection is exact: no fit noise and no persona
    effects besides the fit (``fit_noise``, ``sd_persona`` and ``sd_person_persona`` all
    0), so that each person's fitted candidate is their type and the donor's is another
    person's type (:func:`donor_match_shares`). ``item_effects``: the held-out choice points' item
    effects; the person effect is integrated out by Gauss-Hermite quadrature.
    """
    z, weights = np.polynomial.hermite_e.hermegauss(nodes)
    weights = weights / weights.sum()  # expectations over a standard normal
    logits = mu + sd_person * z[:, None] + np.asarray(item_effects, dtype=float)[None, :]

    def nll(x: np.ndarray) -> np.ndarray:
        return np.logaddexp(0.0, -x)  # -log sigmoid(x)

    own = nll(logits + gain)
    benefit = sum(
        probability * (nll(logits + gain * share) - own)
        for share, probability in donor_match_shares(dimensions).items()
    )
    return float(weights @ np.asarray(benefit).mean(axis=1))

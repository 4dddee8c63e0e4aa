"""Outcome families: sufficient statistics, likelihood, and moments on the data scale.

Each family turns a cell's replicate rows into sufficient statistics, adds the cell
likelihood to a PyMC model given the linear predictor ``eta`` (one value per cell), and
gives the data-scale conditional mean ``m(eta)`` and variance ``v(eta)`` of one
observation, from which :mod:`study.variance.shares` builds data-scale shares by the law
of total variance. The latent residual variance is ``sigma_residual**2`` (gaussian) or
``pi**2/3`` (the logistic links: bernoulli, binomial, ordered).

>>> sorted(FAMILIES)
['bernoulli', 'binomial', 'gaussian', 'ordered']
>>> import numpy as np
>>> m, v = BINOMIAL.moments(np.array([0.0]), {})
>>> float(m[0]), float(v[0])
(0.5, 0.25)
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import polars as pl
import pymc as pm
import pytensor.tensor as pt

from study.errors import ConfigError
from study.variance.design import Cells, Source, first_bad_row
from study.variance.spec import ModelSpec

LOGISTIC_VARIANCE = math.pi**2 / 3


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class Family(ABC):
    """What the model needs to know about an outcome type."""

    name: ClassVar[str]
    # True when the model has an intercept; the ordered family uses cutpoints instead.
    has_intercept: ClassVar[bool] = True

    def outcome_columns(self, spec: ModelSpec) -> list[str]:
        return [spec.outcome]

    @abstractmethod
    def summarise(
        self,
        frame: pl.DataFrame,
        spec: ModelSpec,
        cells: Cells,
        cell_of_row: np.ndarray,
        source: Source,
    ) -> None:
        """Check the outcome and fill ``cells.stats`` with per-cell sufficient statistics."""

    @abstractmethod
    def add_parameters(self, cells: Cells, scale: float) -> dict[str, Any]:
        """Family parameters (inside a model context), e.g. the residual SD or cutpoints."""

    @abstractmethod
    def add_likelihood(
        self, eta: Any, data: Mapping[str, Any], params: Mapping[str, Any], cells: Cells
    ) -> None:
        """The observed variables given the per-cell linear predictor ``eta``.

        ``data`` holds ``cells.stats`` as model data (``pm.Data``), so that a compiled
        model can be refitted to new data of the same design.
        """

    @abstractmethod
    def moments(self, eta: np.ndarray, draws: Mapping[str, np.ndarray]) -> tuple:
        """Data-scale mean and variance of one observation given ``eta``.

        ``eta`` has the draw on its first axis; ``draws`` holds the family's parameters
        per draw (``sigma_residual``: (D,), ``cutpoints``: (D, K-1)).
        """

    @abstractmethod
    def latent_residual_variance(self, draws: Mapping[str, np.ndarray], n_draws: int) -> np.ndarray:
        """Residual variance on the latent scale, per draw."""

    @abstractmethod
    def pilot(self, cells: Cells) -> tuple[np.ndarray, np.ndarray]:
        """A working response per cell on the latent scale and its Fisher information.

        Used only to choose how much to centre each factor's parametrisation.
        """

    @abstractmethod
    def prior_scale(self, cells: Cells) -> float:
        """Scale of the weakly informative priors on the component SDs."""

    @abstractmethod
    def information(self, eta: np.ndarray, draws: Mapping[str, np.ndarray]) -> np.ndarray:
        """Fisher information about ``eta`` in one observation (shapes as in ``moments``)."""


def _check_no_nulls(frame: pl.DataFrame, column: str, who: str, source: Source) -> np.ndarray:
    series = frame[column]
    bad = first_bad_row(series.is_null().to_numpy())
    if bad is not None:
        raise source.error("missing outcome", row=bad, participant=frame[who][bad], column=column)
    return series.to_numpy()


def _numeric(values: np.ndarray, frame, column, who, source) -> np.ndarray:
    try:
        numbers = values.astype(np.float64)
    except (TypeError, ValueError):
        for row, value in enumerate(values):
            try:
                float(value)
            except (TypeError, ValueError):
                raise source.error(
                    f"outcome {value!r} is not a number",
                    row=row,
                    participant=frame[who][row],
                    column=column,
                ) from None
        raise
    bad = first_bad_row(~np.isfinite(numbers))
    if bad is not None:
        raise source.error(
            f"outcome {values[bad]!r} is not finite",
            row=bad,
            participant=frame[who][bad],
            column=column,
        )
    return numbers


class Gaussian(Family):
    """Continuous outcome: cell mean and within-cell sum of squares are sufficient."""

    name = "gaussian"

    def summarise(self, frame, spec, cells, cell_of_row, source):
        who = spec.columns[0]
        y = _numeric(
            _check_no_nulls(frame, spec.outcome, who, source), frame, spec.outcome, who, source
        )
        n = cells.replicates.astype(np.float64)
        mean = np.bincount(cell_of_row, weights=y, minlength=cells.n_cells) / n
        ss = np.bincount(cell_of_row, weights=(y - mean[cell_of_row]) ** 2, minlength=cells.n_cells)
        cells.stats = {"n": n, "mean": mean, "ss": ss}
        if cells.n_rows <= cells.n_cells and np.all(n == 1) and cells.n_cells < 3:
            raise source.error("too few rows to estimate any variance", column=spec.outcome)

    def _total_sd(self, cells: Cells) -> float:
        n, mean, ss = cells.stats["n"], cells.stats["mean"], cells.stats["ss"]
        grand = float(np.sum(n * mean) / np.sum(n))
        total = float(np.sum(ss) + np.sum(n * (mean - grand) ** 2))
        sd = math.sqrt(total / max(float(np.sum(n)) - 1.0, 1.0))
        return sd if sd > 0 else 1.0

    def prior_scale(self, cells):
        return self._total_sd(cells)

    def add_parameters(self, cells, scale):
        return {"sigma_residual": pm.HalfStudentT("sigma_residual", nu=3, sigma=scale)}

    def add_likelihood(self, eta, data, params, cells):
        sigma = params["sigma_residual"]
        pm.Normal("y_cell_mean", mu=eta, sigma=sigma / pt.sqrt(data["n"]), observed=data["mean"])
        if np.any(cells.stats["n"] > 1):
            # Pooled within-cell sum of squares: SS / sigma^2 ~ chi2(dof), i.e. a Gamma.
            pm.Potential(
                "y_within_ss",
                pm.logp(
                    pm.Gamma.dist(alpha=pt.sum(data["n"] - 1.0) / 2.0, beta=0.5 / sigma**2),
                    pt.sum(data["ss"]),
                ),
            )

    def moments(self, eta, draws):
        var = np.broadcast_to(_expand(draws["sigma_residual"] ** 2, eta), eta.shape)
        return eta, var

    def latent_residual_variance(self, draws, n_draws):
        return draws["sigma_residual"] ** 2

    def information(self, eta, draws):
        return np.broadcast_to(_expand(1.0 / draws["sigma_residual"] ** 2, eta), eta.shape)

    def pilot(self, cells):
        n, ss = cells.stats["n"], cells.stats["ss"]
        dof = float(np.sum(n - 1.0))
        within = float(np.sum(ss)) / dof if dof > 0 else self._total_sd(cells) ** 2 / 4
        return cells.stats["mean"], n / max(within, 1e-12)


class Binomial(Family):
    """Counts of successes out of trials (a trials column, or 1 per row: Bernoulli)."""

    name = "binomial"

    def outcome_columns(self, spec):
        if spec.trials is None:
            raise ConfigError(
                "family 'binomial' needs a trials column (trials=... or 'k | trials(n) ~ ...');"
                " for 0/1 rows use family 'bernoulli'"
            )
        return [spec.outcome, spec.trials]

    def _row_counts(self, frame, spec, source):
        who = spec.columns[0]
        k = _numeric(
            _check_no_nulls(frame, spec.outcome, who, source), frame, spec.outcome, who, source
        )
        n = _numeric(
            _check_no_nulls(frame, spec.trials, who, source), frame, spec.trials, who, source
        )
        bad = first_bad_row((n < 1) | (n != np.round(n)))
        if bad is not None:
            raise source.error(
                f"trials {n[bad]!r} is not a positive whole number",
                row=bad,
                participant=frame[who][bad],
                column=spec.trials,
            )
        bad = first_bad_row((k < 0) | (k > n) | (k != np.round(k)))
        if bad is not None:
            raise source.error(
                f"successes {k[bad]!r} is not a whole number in [0, trials]",
                row=bad,
                participant=frame[who][bad],
                column=spec.outcome,
            )
        return k, n

    def summarise(self, frame, spec, cells, cell_of_row, source):
        k, n = self._row_counts(frame, spec, source)
        cells.stats = {
            "k": np.bincount(cell_of_row, weights=k, minlength=cells.n_cells).astype(np.int64),
            "n": np.bincount(cell_of_row, weights=n, minlength=cells.n_cells).astype(np.int64),
        }

    def prior_scale(self, cells):
        return 1.0

    def add_parameters(self, cells, scale):
        return {}

    def add_likelihood(self, eta, data, params, cells):
        # The binomial log-likelihood without its constant log(n choose k): a third of the
        # cost of pm.Binomial, whose coefficient (gammaln of data) is recomputed per call.
        successes = pt.cast(data["k"], "float64")
        trials = pt.cast(data["n"], "float64")
        pm.Potential("y_successes", pt.dot(successes, eta) - pt.sum(trials * pt.softplus(eta)))

    def moments(self, eta, draws):
        p = _sigmoid(eta)
        return p, p * (1.0 - p)

    def information(self, eta, draws):
        p = _sigmoid(eta)
        return p * (1.0 - p)

    def latent_residual_variance(self, draws, n_draws):
        return np.full(n_draws, LOGISTIC_VARIANCE)

    def pilot(self, cells):
        k, n = cells.stats["k"], cells.stats["n"]
        z = np.log((k + 0.5) / (n - k + 0.5))
        p = np.clip(np.sum(k) / np.sum(n), 0.02, 0.98)
        return z, n * p * (1 - p)


class Bernoulli(Binomial):
    """0/1 (or boolean) rows; aggregated into binomial counts per cell."""

    name = "bernoulli"

    def outcome_columns(self, spec):
        return [spec.outcome]

    def _row_counts(self, frame, spec, source):
        who = spec.columns[0]
        values = _check_no_nulls(frame, spec.outcome, who, source)
        if values.dtype.kind == "b":
            y = values.astype(np.float64)
        else:
            y = _numeric(values, frame, spec.outcome, who, source)
        bad = first_bad_row((y != 0) & (y != 1))
        if bad is not None:
            raise source.error(
                f"outcome {values[bad]!r} is not 0 or 1",
                row=bad,
                participant=frame[who][bad],
                column=spec.outcome,
            )
        return y, np.ones_like(y)


class Ordered(Family):
    """Ordered categories (rating scales), cumulative logit: P(y <= j) = logistic(c_j - eta).

    Categories are ordered numerically when they are numbers, else as given by
    ``categories``; the data-scale moments score category j by its number (or by its
    position 1..K when the categories are text).
    """

    name = "ordered"
    has_intercept = False

    def __init__(self, categories: list[Any] | None = None) -> None:
        self.categories = categories
        # The data-scale score of each category, set when the data are summarised.
        self.scores = np.arange(1.0, 4.0)

    def summarise(self, frame, spec, cells, cell_of_row, source):
        who = spec.columns[0]
        values = _check_no_nulls(frame, spec.outcome, who, source)
        if self.categories is not None:
            order = [str(c) for c in self.categories]
            text = values.astype(str)
            lookup = {c: i for i, c in enumerate(order)}
            codes = np.array([lookup.get(v, -1) for v in text])
            bad = first_bad_row(codes < 0)
            if bad is not None:
                raise source.error(
                    f"outcome {values[bad]!r} is not one of the categories {order}",
                    row=bad,
                    participant=frame[who][bad],
                    column=spec.outcome,
                )
            scores = np.array(
                [float(c) if _is_number(c) else i + 1.0 for i, c in enumerate(self.categories)]
            )
        else:
            numbers = _numeric(values, frame, spec.outcome, who, source)
            uniques, codes = np.unique(numbers, return_inverse=True)
            scores = uniques.astype(np.float64)
        n_categories = scores.size
        if n_categories < 3:
            raise source.error(
                f"an ordered outcome needs at least 3 categories, found {n_categories}; "
                "use family 'bernoulli' for two",
                column=spec.outcome,
            )
        counts = np.zeros((cells.n_cells, n_categories))
        np.add.at(counts, (cell_of_row, codes), 1.0)
        cells.stats = {"counts": counts}
        self.scores = scores

    def prior_scale(self, cells):
        return 1.0

    def add_parameters(self, cells, scale):
        counts = cells.stats["counts"]
        cumulative = np.cumsum(counts.sum(axis=0))[:-1] / counts.sum()
        start = np.log(np.clip(cumulative, 1e-3, 1 - 1e-3) / np.clip(1 - cumulative, 1e-3, 1))
        start = start + np.arange(start.size) * 1e-3  # strictly increasing start values
        cutpoints = pm.Normal(
            "cutpoints",
            mu=0.0,
            sigma=5.0,
            shape=start.size,
            transform=pm.distributions.transforms.ordered,
            initval=start,
        )
        return {"cutpoints": cutpoints}

    def add_likelihood(self, eta, data, params, cells):
        cdf = pt.sigmoid(params["cutpoints"][None, :] - eta[:, None])
        ones = pt.ones((cdf.shape[0], 1))
        zeros = pt.zeros((cdf.shape[0], 1))
        probs = pt.concatenate([cdf, ones], axis=1) - pt.concatenate([zeros, cdf], axis=1)
        log_probs = pt.log(pt.clip(probs, 1e-300, 1.0))
        pm.Potential("y_categories", pt.sum(data["counts"] * log_probs))

    def _cdf(self, eta: np.ndarray, draws: Mapping[str, np.ndarray]) -> np.ndarray:
        """P(y <= j | eta) for j = 0..K (padded with 0 and 1), on a new last axis."""
        cut = draws["cutpoints"]  # (D, K-1)
        cut = cut.reshape(cut.shape[:1] + (1,) * (eta.ndim - 1) + cut.shape[1:])
        cdf = _sigmoid(cut - eta[..., None])
        shape = (*eta.shape, 1)
        return np.concatenate([np.zeros(shape), cdf, np.ones(shape)], axis=-1)

    def moments(self, eta, draws):
        probs = np.diff(self._cdf(eta, draws), axis=-1)
        mean = probs @ self.scores
        return mean, probs @ self.scores**2 - mean**2

    def information(self, eta, draws):
        cdf = self._cdf(eta, draws)
        density = cdf * (1.0 - cdf)  # logistic density at each cutpoint (0 at the pads)
        probs = np.maximum(np.diff(cdf, axis=-1), 1e-300)
        return np.sum(np.diff(density, axis=-1) ** 2 / probs, axis=-1)

    def latent_residual_variance(self, draws, n_draws):
        return np.full(n_draws, LOGISTIC_VARIANCE)

    def pilot(self, cells):
        counts = cells.stats["counts"]
        n = counts.sum(axis=1)
        positions = np.arange(counts.shape[1], dtype=np.float64)
        mean_position = counts @ positions / n
        overall = counts.sum(axis=0) / counts.sum()
        sd = math.sqrt(float(overall @ positions**2 - (overall @ positions) ** 2)) or 1.0
        # Rescale positions so that their spread matches a logistic latent (sd pi/sqrt(3)).
        z = mean_position / sd * math.sqrt(LOGISTIC_VARIANCE)
        info = (1.0 - float(np.sum(overall**3))) / 3.0  # Whitehead (1993), location info
        return z, n * info


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _expand(per_draw: np.ndarray, like: np.ndarray) -> np.ndarray:
    return per_draw.reshape(per_draw.shape + (1,) * (like.ndim - per_draw.ndim))


GAUSSIAN = Gaussian()
BINOMIAL = Binomial()
BERNOULLI = Bernoulli()
FAMILIES: dict[str, Family] = {
    "gaussian": GAUSSIAN,
    "bernoulli": BERNOULLI,
    "binomial": BINOMIAL,
    "ordered": Ordered(),
}


def get_family(name: str, categories: list[Any] | None = None) -> Family:
    """The family called ``name``; ``categories`` orders an ordered outcome's levels."""
    if name not in FAMILIES:
        raise ConfigError(f"unknown family {name!r}; choose one of {', '.join(sorted(FAMILIES))}")
    if name == "ordered":
        return Ordered(categories)
    if categories is not None:
        raise ConfigError("categories only apply to family 'ordered'")
    return FAMILIES[name]

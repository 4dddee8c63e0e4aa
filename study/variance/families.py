"""Outcome families: sufficient statistics, likelihood, and moments on the data scale.

Each family turns a cell's replicate rows into sufficient statistics, adds the cell
likelihood to a PyMC model given the linear predictor ``eta`` (one value per cell), and
gives the data-scale conditional mean ``m(eta)`` and variance ``v(eta)`` of one
observation, from which :mod:`study.variance.shares` builds data-scale shares by the law
of total variance. The latent residual variance is ``sigma_residual**2`` (gaussian) or
``pi**2/3`` (the logistic links: bernoulli, binomial, ordered).

The families are stateless: what the data fix (the ordered family's category scores) is
returned among the cell statistics and handed back to the moments with the draws.

The likelihood is one observed variable with one entry per cell (a unique combination of
factor levels), whose log-density is the sum of the log-densities of that cell's rows:
the ``log_likelihood`` group holds one value per cell and draw, so LOO leaves out a cell
(all its replicate rows) at a time. Bernoulli rows: ``k log p + (n - k) log(1 - p)``;
binomial rows: the same plus each row's ``log(n choose k)``; gaussian rows: the normal
density of each row, written through the cell's count, mean and sum of squares; ordered
rows: the cumulative-logit probability of each row's category.

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
from scipy.special import gammaln

from study.errors import ConfigError
from study.variance.design import Cells, Source, first_bad_row, numeric_outcome, outcome_values
from study.variance.logit_binomial import binomial_logit
from study.variance.spec import ModelSpec

LOGISTIC_VARIANCE = math.pi**2 / 3
# Statistics per cell, as arrays (the ordered family adds its per-design scores).
Stats = dict[str, np.ndarray]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class Family(ABC):
    """What the model needs to know about an outcome type (stateless: one instance can
    serve any number of fits at once)."""

    name: ClassVar[str]
    # True when the model has an intercept; the ordered family uses cutpoints instead.
    has_intercept: ClassVar[bool] = True
    # The family's own parameters in the posterior (beside sigma and the intercept).
    parameters: ClassVar[tuple[str, ...]] = ()
    # Statistics that are per design rather than per cell, needed by the moments.
    constants: ClassVar[tuple[str, ...]] = ()
    # The observed variable's name, and the cell statistic it observes.
    observed: ClassVar[str]
    observed_stat: ClassVar[str]

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
    ) -> Stats:
        """Check the outcome; return the per-cell sufficient statistics."""

    @abstractmethod
    def add_parameters(self, cells: Cells, scale: Any) -> dict[str, Any]:
        """Family parameters (inside a model context), e.g. the residual SD or cutpoints."""

    @abstractmethod
    def add_likelihood(
        self, eta: Any, data: Mapping[str, Any], params: Mapping[str, Any], cells: Cells
    ) -> Any:
        """The observed variable (dimension ``cell``) given the per-cell linear predictor.

        ``data`` holds ``cells.stats`` as model data (``pm.Data``), so that a compiled
        model can be refitted to new data of the same design.
        """

    @abstractmethod
    def moments(
        self, eta: np.ndarray, draws: Mapping[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Data-scale mean and variance of one observation given ``eta``.

        ``eta`` has the draw on its first axis; ``draws`` holds the family's parameters
        per draw (``sigma_residual``: (D,), ``cutpoints``: (D, K-1)) and its constants.
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

    @abstractmethod
    def describe_priors(self) -> list[str]:
        """The family's own priors, one line each, for a model's printed form."""


def _cell_normal_logp(value: Any, eta: Any, sigma: Any, n: Any, ss: Any) -> Any:
    """Sum of a cell's rows' normal log-densities from its mean ``value``, count ``n``
    and within-cell sum of squares ``ss``."""
    return -0.5 * n * pt.log(2.0 * np.pi * sigma**2) - (ss + n * (value - eta) ** 2) / (
        2.0 * sigma**2
    )


def _cell_normal_random(
    eta: np.ndarray,
    sigma: np.ndarray,
    n: np.ndarray,
    ss: np.ndarray,
    rng: np.random.Generator | None = None,
    size: Any = None,
) -> np.ndarray:
    """A new cell mean: the mean of ``n`` new rows."""
    generator = rng if rng is not None else np.random.default_rng()
    return generator.normal(eta, sigma / np.sqrt(n), size=size)


class Gaussian(Family):
    """Continuous outcome: cell mean and within-cell sum of squares are sufficient."""

    name = "gaussian"
    parameters = ("sigma_residual",)
    observed = "y_cell_mean"
    observed_stat = "mean"

    def summarise(
        self,
        frame: pl.DataFrame,
        spec: ModelSpec,
        cells: Cells,
        cell_of_row: np.ndarray,
        source: Source,
    ) -> Stats:
        y = numeric_outcome(frame, spec.outcome, spec.columns[0], source)
        n = cells.replicates.astype(np.float64)
        mean = np.bincount(cell_of_row, weights=y, minlength=cells.n_cells) / n
        ss = np.bincount(cell_of_row, weights=(y - mean[cell_of_row]) ** 2, minlength=cells.n_cells)
        if cells.n_rows <= cells.n_cells and np.all(n == 1) and cells.n_cells < 3:
            raise source.error("too few rows to estimate any variance", column=spec.outcome)
        return {"n": n, "mean": mean, "ss": ss}

    def _total_sd(self, cells: Cells) -> float:
        n, mean, ss = cells.stats["n"], cells.stats["mean"], cells.stats["ss"]
        grand = float(np.sum(n * mean) / np.sum(n))
        total = float(np.sum(ss) + np.sum(n * (mean - grand) ** 2))
        sd = math.sqrt(total / max(float(np.sum(n)) - 1.0, 1.0))
        return sd if sd > 0 else 1.0

    def prior_scale(self, cells: Cells) -> float:
        return self._total_sd(cells)

    def add_parameters(self, cells: Cells, scale: Any) -> dict[str, Any]:
        return {"sigma_residual": pm.HalfStudentT("sigma_residual", nu=3, sigma=scale)}

    def add_likelihood(
        self, eta: Any, data: Mapping[str, Any], params: Mapping[str, Any], cells: Cells
    ) -> Any:
        return pm.CustomDist(
            self.observed,
            eta,
            params["sigma_residual"],
            data["n"],
            data["ss"],
            logp=_cell_normal_logp,
            random=_cell_normal_random,
            observed=data["mean"],
            dims="cell",
        )

    def moments(
        self, eta: np.ndarray, draws: Mapping[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        var = np.broadcast_to(_expand(draws["sigma_residual"] ** 2, eta), eta.shape)
        return eta, var

    def latent_residual_variance(self, draws: Mapping[str, np.ndarray], n_draws: int) -> np.ndarray:
        return draws["sigma_residual"] ** 2

    def information(self, eta: np.ndarray, draws: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.broadcast_to(_expand(1.0 / draws["sigma_residual"] ** 2, eta), eta.shape)

    def pilot(self, cells: Cells) -> tuple[np.ndarray, np.ndarray]:
        n, ss = cells.stats["n"], cells.stats["ss"]
        dof = float(np.sum(n - 1.0))
        within = float(np.sum(ss)) / dof if dof > 0 else self._total_sd(cells) ** 2 / 4
        return cells.stats["mean"], n / max(within, 1e-12)

    def describe_priors(self) -> list[str]:
        return ["sigma_residual ~ HalfStudentT(nu=3, sigma=scale)"]


def _binomial_logp(value: Any, eta: Any, trials: Any, log_coefficient: Any) -> Any:
    """Binomial log-mass on the logit scale; the binomial coefficients are data
    (``log_coefficient``), computed once rather than per gradient from the counts. The
    rest is one pass over the cells (study.variance.logit_binomial)."""
    return binomial_logit(eta, value, trials)[0] + log_coefficient


def _binomial_random(
    eta: np.ndarray,
    trials: np.ndarray,
    log_coefficient: np.ndarray,
    rng: np.random.Generator | None = None,
    size: Any = None,
) -> np.ndarray:
    generator = rng if rng is not None else np.random.default_rng()
    return generator.binomial(trials.astype(np.int64), _sigmoid(eta), size=size)


class Binomial(Family):
    """Counts of successes out of trials (a trials column, or 1 per row: Bernoulli)."""

    name = "binomial"
    observed = "y_successes"
    observed_stat = "k"

    def outcome_columns(self, spec: ModelSpec) -> list[str]:
        if spec.trials is None:
            raise ConfigError(
                "family 'binomial' needs a trials column (trials=..., 'p(k, n) ~ ...' or "
                "'k | trials(n) ~ ...'); for 0/1 rows use family 'bernoulli'"
            )
        return [spec.outcome, spec.trials]

    def _row_counts(
        self, frame: pl.DataFrame, spec: ModelSpec, source: Source
    ) -> tuple[np.ndarray, np.ndarray]:
        who = spec.columns[0]
        assert spec.trials is not None  # outcome_columns refused a spec without one
        k = numeric_outcome(frame, spec.outcome, who, source)
        n = numeric_outcome(frame, spec.trials, who, source)
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

    def _log_coefficients(self, k: np.ndarray, n: np.ndarray) -> np.ndarray:
        """Each row's ``log(n choose k)``."""
        return gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0)

    def summarise(
        self,
        frame: pl.DataFrame,
        spec: ModelSpec,
        cells: Cells,
        cell_of_row: np.ndarray,
        source: Source,
    ) -> Stats:
        k, n = self._row_counts(frame, spec, source)
        size = cells.n_cells
        return {
            "k": np.bincount(cell_of_row, weights=k, minlength=size).astype(np.int64),
            "n": np.bincount(cell_of_row, weights=n, minlength=size).astype(np.int64),
            "log_coefficient": np.bincount(
                cell_of_row, weights=self._log_coefficients(k, n), minlength=size
            ),
        }

    def prior_scale(self, cells: Cells) -> float:
        return 1.0

    def add_parameters(self, cells: Cells, scale: Any) -> dict[str, Any]:
        return {}

    def add_likelihood(
        self, eta: Any, data: Mapping[str, Any], params: Mapping[str, Any], cells: Cells
    ) -> Any:
        return pm.CustomDist(
            self.observed,
            eta,
            pt.cast(data["n"], "float64"),
            data["log_coefficient"],
            logp=_binomial_logp,
            random=_binomial_random,
            observed=data["k"],
            dtype="int64",
            dims="cell",
        )

    def moments(
        self, eta: np.ndarray, draws: Mapping[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        p = _sigmoid(eta)
        return p, p * (1.0 - p)

    def information(self, eta: np.ndarray, draws: Mapping[str, np.ndarray]) -> np.ndarray:
        p = _sigmoid(eta)
        return p * (1.0 - p)

    def latent_residual_variance(self, draws: Mapping[str, np.ndarray], n_draws: int) -> np.ndarray:
        return np.full(n_draws, LOGISTIC_VARIANCE)

    def pilot(self, cells: Cells) -> tuple[np.ndarray, np.ndarray]:
        k, n = cells.stats["k"], cells.stats["n"]
        z = np.log((k + 0.5) / (n - k + 0.5))
        p = np.clip(np.sum(k) / np.sum(n), 0.02, 0.98)
        return z, n * p * (1 - p)

    def describe_priors(self) -> list[str]:
        return ["link: logit; latent residual variance pi**2/3"]


class Bernoulli(Binomial):
    """0/1 (or boolean) rows; aggregated into binomial counts per cell."""

    name = "bernoulli"

    def outcome_columns(self, spec: ModelSpec) -> list[str]:
        return [spec.outcome]

    def _row_counts(
        self, frame: pl.DataFrame, spec: ModelSpec, source: Source
    ) -> tuple[np.ndarray, np.ndarray]:
        who = spec.columns[0]
        values = outcome_values(frame, spec.outcome, who, source)
        if values.dtype.kind == "b":
            y = values.astype(np.float64)
        else:
            y = numeric_outcome(frame, spec.outcome, who, source)
        bad = first_bad_row((y != 0) & (y != 1))
        if bad is not None:
            raise source.error(
                f"outcome {values[bad]!r} is not 0 or 1",
                row=bad,
                participant=frame[who][bad],
                column=spec.outcome,
            )
        return y, np.ones_like(y)

    def _log_coefficients(self, k: np.ndarray, n: np.ndarray) -> np.ndarray:
        return np.zeros_like(k)  # one trial per row: n choose k is 1


def _ordered_probabilities(eta: Any, cutpoints: Any) -> Any:
    """P(category j | eta), categories on the last axis, cumulative logit (``cutpoints``
    may come batched per cell: only their last axis is the categories')."""
    cdf = pt.sigmoid(cutpoints - eta[..., None])
    ones = pt.ones_like(cdf[..., :1])
    return pt.concatenate([cdf, ones], axis=-1) - pt.concatenate([ones * 0.0, cdf], axis=-1)


def _ordered_logp(value: Any, eta: Any, n: Any, cutpoints: Any, scores: Any) -> Any:
    """Sum of a cell's rows' category log-probabilities from its category counts."""
    log_probs = pt.log(pt.clip(_ordered_probabilities(eta, cutpoints), 1e-300, 1.0))
    return pt.sum(value * log_probs, axis=-1)


def _ordered_random(
    eta: np.ndarray,
    n: np.ndarray,
    cutpoints: np.ndarray,
    scores: np.ndarray,
    rng: np.random.Generator | None = None,
    size: Any = None,
) -> np.ndarray:
    """New category counts for ``n`` rows per cell."""
    generator = rng if rng is not None else np.random.default_rng()
    eta = np.asarray(eta, dtype=np.float64)
    cdf = _sigmoid(np.asarray(cutpoints)[..., None, :] - eta[..., None])
    pad = np.ones((*cdf.shape[:-1], 1))
    probs = np.diff(np.concatenate([0.0 * pad, cdf, pad], axis=-1), axis=-1)
    probs = np.clip(probs, 0.0, 1.0)
    probs = probs / probs.sum(axis=-1, keepdims=True)
    return generator.multinomial(np.asarray(n).astype(np.int64), probs).astype(np.float64)


class Ordered(Family):
    """Ordered categories (rating scales), cumulative logit: P(y <= j) = logistic(c_j - eta).

    Categories are ordered numerically when they are numbers, else as given by
    ``categories``; the data-scale moments score category j by its number (or by its
    position 1..K when the categories are text): the statistic ``scores``.
    """

    name = "ordered"
    has_intercept = False
    parameters = ("cutpoints",)
    constants = ("scores",)
    observed = "y_categories"
    observed_stat = "counts"

    def __init__(self, categories: list[Any] | None = None) -> None:
        self.categories: tuple[Any, ...] | None = None if categories is None else tuple(categories)

    def summarise(
        self,
        frame: pl.DataFrame,
        spec: ModelSpec,
        cells: Cells,
        cell_of_row: np.ndarray,
        source: Source,
    ) -> Stats:
        who = spec.columns[0]
        values = outcome_values(frame, spec.outcome, who, source)
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
            numbers = numeric_outcome(frame, spec.outcome, who, source)
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
        np.add.at(counts, (cell_of_row, codes.reshape(-1)), 1.0)
        return {"counts": counts, "n": counts.sum(axis=1), "scores": scores}

    def prior_scale(self, cells: Cells) -> float:
        return 1.0

    def add_parameters(self, cells: Cells, scale: Any) -> dict[str, Any]:
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

    def add_likelihood(
        self, eta: Any, data: Mapping[str, Any], params: Mapping[str, Any], cells: Cells
    ) -> Any:
        return pm.CustomDist(
            self.observed,
            eta,
            data["n"],
            params["cutpoints"],
            data["scores"],
            logp=_ordered_logp,
            random=_ordered_random,
            signature="(),(),(c),(k)->(k)",
            observed=data["counts"],
            dims=("cell", "category"),
        )

    def _cdf(self, eta: np.ndarray, draws: Mapping[str, np.ndarray]) -> np.ndarray:
        """P(y <= j | eta) for j = 0..K (padded with 0 and 1), on a new last axis."""
        cut = draws["cutpoints"]  # (D, K-1)
        cut = cut.reshape(cut.shape[:1] + (1,) * (eta.ndim - 1) + cut.shape[1:])
        cdf = _sigmoid(cut - eta[..., None])
        shape = (*eta.shape, 1)
        return np.concatenate([np.zeros(shape), cdf, np.ones(shape)], axis=-1)

    def moments(
        self, eta: np.ndarray, draws: Mapping[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        scores = draws["scores"]
        probs = np.diff(self._cdf(eta, draws), axis=-1)
        mean = probs @ scores
        return mean, probs @ scores**2 - mean**2

    def information(self, eta: np.ndarray, draws: Mapping[str, np.ndarray]) -> np.ndarray:
        cdf = self._cdf(eta, draws)
        density = cdf * (1.0 - cdf)  # logistic density at each cutpoint (0 at the pads)
        probs = np.maximum(np.diff(cdf, axis=-1), 1e-300)
        return np.sum(np.diff(density, axis=-1) ** 2 / probs, axis=-1)

    def latent_residual_variance(self, draws: Mapping[str, np.ndarray], n_draws: int) -> np.ndarray:
        return np.full(n_draws, LOGISTIC_VARIANCE)

    def pilot(self, cells: Cells) -> tuple[np.ndarray, np.ndarray]:
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

    def describe_priors(self) -> list[str]:
        return ["cutpoints ~ Normal(0, 5), ordered; link: cumulative logit"]


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

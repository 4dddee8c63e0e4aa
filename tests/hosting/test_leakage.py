"""C4 leakage: recovery of a known lambda, the exactness of the integrated-out model,
and errors that name the bad row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
import xarray as xr
from scipy.stats import multivariate_normal

from study.errors import StudyInputError
from study.hosting.leakage import (
    LAMBDA_PRIOR_SD,
    add_leakage_draws,
    fit_leakage,
    kept_persons,
    leakage_model,
    person_statistics,
)
from study.hosting.rows import person_rows
from study.variance.design import Source

SAMPLING = {"draws": 500, "tune": 500, "chains": 2, "cores": 1}


def leakage_rows(
    leakage: float,
    *,
    experiments: tuple[str, ...] = ("e1", "e2", "e3"),
    persons: int = 20,
    rows: int = 18,
    sd_person: float = 0.05,
    noise: float = 0.3,
    seed: int = 0,
) -> pd.DataFrame:
    """``y = lambda_p x + N(0, noise)``, ``lambda_p ~ N(leakage, sd_person)``; person ids
    repeat across experiments, as participant ids do."""
    rng = np.random.default_rng(seed)
    parts = []
    for experiment in experiments:
        for person in range(persons):
            slope = leakage + rng.normal(0.0, sd_person)
            x = rng.normal(0.0, 1.0, size=rows)
            y = slope * x + rng.normal(0.0, noise, size=rows)
            parts.append(pd.DataFrame({"experiment": experiment, "person": person, "x": x, "y": y}))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def leaky() -> pd.DataFrame:
    """lambda = 0.3, plus an experiment whose partners change nothing (x = 0) and one
    such person in e1: both left out."""
    rows = leakage_rows(0.3, seed=1)
    flat = leakage_rows(0.3, experiments=("flat",), persons=4, seed=2).assign(x=0.0)
    silent = pd.DataFrame({"experiment": "e1", "person": 99, "x": [0.0] * 5, "y": 0.1})
    return pd.concat([rows, flat, silent], ignore_index=True)


@pytest.fixture(scope="module")
def fitted(leaky: pd.DataFrame):
    return fit_leakage(leaky, seed=3, **SAMPLING)


def test_a_known_leakage_is_recovered(fitted) -> None:
    assert fitted.passed
    table = fitted.table.set_index("experiment")
    assert list(table.index) == ["(pooled)", "e1", "e2", "e3"]
    for _, row in table.iterrows():
        assert row["lower"] <= 0.3 <= row["upper"]
        assert row["lower"] < row["estimate"] < row["upper"]
    # Each experiment's rows pin its lambda_e to within +-0.1; none is near 0.
    assert (table["upper"] - table["lower"]).drop("(pooled)").max() < 0.2
    assert (table["lower"] > 0.15).all()
    assert table.loc["e1", "n_persons"] == 20 and table.loc["e1", "n_rows"] == 20 * 18
    assert table.loc["(pooled)", "n_persons"] == 60
    assert set(table["interval"]) == {"94% ETI"}


def test_uninformative_rows_are_left_out_with_notes(fitted) -> None:
    notes = "\n".join(fitted.notes)
    assert "experiment 'flat' left out: x is 0 on every row" in notes
    assert "experiment 'e1': 1 person(s) left out: x is 0 on every row" in notes
    posterior = fitted.tree["posterior"]
    assert list(posterior["experiment"].values) == ["e1", "e2", "e3"]
    assert posterior["lambda_experiment"].shape[-1] == 3
    gated = fitted.diagnostics.loc[fitted.diagnostics["gated"], "parameter"]
    assert {"lambda", "tau", "sigma_person", "lambda_experiment[e2]"} <= set(gated)


def test_no_leakage_is_not_mistaken_for_some() -> None:
    fitted = fit_leakage(leakage_rows(0.0, seed=5), seed=6, **SAMPLING)
    assert fitted.passed
    table = fitted.table.set_index("experiment")
    assert table.loc["(pooled)", "lower"] <= 0.0 <= table.loc["(pooled)", "upper"]
    # The experiments' intervals exclude the leakage of the other test.
    assert (table["upper"] < 0.3).all()


def option_rows(leakage: float, *, options: int = 4, noise: float = 0.2, seed: int = 0):
    """Rows as the simulated engine gives them, one per (span, option coordinate): each
    span moves only the human option's centred log-odds, ``v`` the centred indicator of
    that option, so ``x = u_p v`` and ``y = (leakage u_p + e) v``, ``e ~ N(0, noise)``
    shared by the span's coordinates; ``u_p`` the person's partner-minus-own profile
    effect."""
    rng = np.random.default_rng(seed)
    parts = []
    for experiment in ("e1", "e2", "e3"):
        for person in range(20):
            u = rng.normal(0.0, 0.7)
            for span in range(10):
                v = np.full(options, -1.0 / options)
                v[rng.integers(options)] += 1.0
                y = (leakage * u + rng.normal(0.0, noise)) * v
                keys = {"experiment": experiment, "person": person, "span": span}
                parts.append(pd.DataFrame({**keys, "x": u * v, "y": y}))
    return pd.concat(parts, ignore_index=True)


def test_spans_enter_as_one_observation_each() -> None:
    """With a span column, a span's coordinates collapse to their projection on x: the
    same slopes, one observation per span, and sigma_y the per-span noise along x
    (``noise * |v|``, ``|v|**2 = 1 - 1 / options``)."""
    rows = option_rows(0.3, seed=8)
    frame = person_rows(rows, ["x", "y"], Source(), keys=["span"])
    by_span = person_statistics(frame)
    by_row = person_statistics(frame.drop("span"))
    for column in ("sxx", "sxy"):
        np.testing.assert_allclose(by_span[column].to_numpy(), by_row[column].to_numpy())
    assert (by_span["n"] == 10).all() and (by_row["n"] == 40).all()
    fitted = fit_leakage(rows, seed=9, **SAMPLING)
    assert fitted.passed
    table = fitted.table.set_index("experiment")
    assert ((table["lower"] <= 0.3) & (table["upper"] >= 0.3)).all()
    assert table.loc["e2", "n_rows"] == 20 * 10
    sigma_y = fitted.tree["posterior"]["sigma_y"]
    low, high = np.quantile(sigma_y.values.reshape(-1, 3), [0.03, 0.97], axis=0)
    per_span = 0.2 * np.sqrt(0.75)
    assert ((low <= per_span) & (high >= per_span)).all()


def small_design(seed: int = 4) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows of 2 experiments (2 and 3 persons, 3 to 5 rows each) and their kept stats."""
    rng = np.random.default_rng(seed)
    parts = []
    for experiment, sizes in (("a", [3, 5]), ("b", [4, 3, 4])):
        for person, size in enumerate(sizes):
            x = rng.normal(size=size)
            parts.append(
                pd.DataFrame(
                    {"experiment": experiment, "person": person, "x": x, "y": rng.normal(size=size)}
                )
            )
    frame = person_rows(pd.concat(parts, ignore_index=True), ["x", "y"], Source())
    frame = frame.sort(["experiment", "person"], maintain_order=True)
    stats, notes = kept_persons(person_statistics(frame))
    assert not notes
    return frame, stats


def joint_covariance(frame: pl.DataFrame, tau, sigma_person, sigma_y) -> np.ndarray:
    """Covariance of all y with lambda_p, lambda_e and lambda integrated out: rows share
    ``sigma_person**2 x x'`` within a person, ``tau**2 x x'`` within an experiment and
    the prior's ``x x'`` everywhere, plus ``sigma_y[e]**2`` on the diagonal."""
    x = frame["x"].to_numpy()
    experiment = frame["experiment"].to_numpy()
    person = np.char.add(experiment.astype(str), frame["person"].to_numpy().astype(str))
    same_e = experiment[:, None] == experiment[None, :]
    same_p = person[:, None] == person[None, :]
    outer = np.outer(x, x)
    noise = np.array([sigma_y[e] for e in experiment]) ** 2
    prior = LAMBDA_PRIOR_SD**2
    return np.diag(noise) + outer * (sigma_person**2 * same_p + tau**2 * same_e + prior)


def test_the_integrated_model_is_the_joint_normal_of_all_rows() -> None:
    """Up to a constant, the model's likelihood (its potentials) is the exact density of
    every row with all three levels of lambda integrated out."""
    frame, stats = small_design()
    model = leakage_model(stats)
    potentials = model.compile_fn(model.logp(vars=model.potentials))
    y = frame["y"].to_numpy()
    differences = []
    for tau, sigma_person, sigma_y in [
        (0.4, 0.2, {"a": 0.9, "b": 1.3}),
        (0.05, 0.7, {"a": 1.5, "b": 0.6}),
        (1.2, 0.01, {"a": 0.5, "b": 2.0}),
    ]:
        point = {
            "tau_log__": np.log(tau),
            "sigma_person_log__": np.log(sigma_person),
            "sigma_y_log__": np.log([sigma_y["a"], sigma_y["b"]]),
        }
        cov = joint_covariance(frame, tau, sigma_person, sigma_y)
        exact = multivariate_normal(mean=np.zeros(y.size), cov=cov).logpdf(y)
        differences.append(float(potentials(point)) - exact)
    assert np.ptp(differences) < 1e-8


def test_lambda_draws_follow_their_exact_conditional_distributions() -> None:
    """Given tau and the SDs, lambda and lambda_e drawn after sampling have the mean and
    variance that conditioning the joint normal on all rows gives."""
    frame, stats = small_design()
    model = leakage_model(stats)
    tau, sigma_person, sigma_y = 0.3, 0.25, {"a": 0.8, "b": 1.1}
    point = {
        "tau_log__": np.log(tau),
        "sigma_person_log__": np.log(sigma_person),
        "sigma_y_log__": np.log([sigma_y["a"], sigma_y["b"]]),
    }
    recorded = [model["experiment_precision"], model["experiment_slope"]]
    precision, slope = model.compile_fn(
        model.replace_rvs_by_values(recorded),
        inputs=model.value_vars,
        on_unused_input="ignore",  # they do not involve tau
    )(point)
    draws, dims = 40_000, ("chain", "draw", "experiment")
    posterior = xr.Dataset(
        {
            "tau": (("chain", "draw"), np.full((1, draws), tau)),
            "experiment_precision": (dims, np.broadcast_to(precision, (1, draws, 2))),
            "experiment_slope": (dims, np.broadcast_to(slope, (1, draws, 2))),
        },
        coords={"experiment": ["a", "b"]},
    )
    tree = add_leakage_draws(xr.DataTree.from_dict({"posterior": posterior}), seed=0)
    result = tree["posterior"]
    cov = joint_covariance(frame, tau, sigma_person, sigma_y)
    x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
    in_a = (frame["experiment"] == "a").to_numpy()
    prior = LAMBDA_PRIOR_SD**2
    lambda_a = result["lambda_experiment"].sel(experiment="a").values
    # (draws, the draws' covariance with every y, their prior variance)
    for drawn, link, variance in [
        (result["lambda"].values, prior * x, prior),
        (lambda_a, (tau**2 * in_a + prior) * x, tau**2 + prior),
    ]:
        weights = np.linalg.solve(cov, link)
        mean, var = weights @ y, variance - link @ weights
        assert drawn.mean() == pytest.approx(mean, abs=5 * np.sqrt(var / draws))
        assert drawn.var() == pytest.approx(var, rel=0.04)


def test_missing_columns_are_named() -> None:
    rows = leakage_rows(0.3, persons=2, rows=3).drop(columns="y")
    with pytest.raises(StudyInputError) as caught:
        fit_leakage(rows)
    assert caught.value.field == "y"
    assert "column 'y' not found" in str(caught.value)


@pytest.mark.parametrize(
    ("bad", "message"),
    [(np.nan, "missing value"), (np.inf, "x inf is not a finite"), ("high", "x 'high' is not")],
)
def test_a_bad_number_names_its_row_person_and_column(bad, message: str) -> None:
    rows = leakage_rows(0.3, persons=2, rows=3).astype({"x": object})
    rows.loc[4, "x"] = bad
    with pytest.raises(StudyInputError, match=message) as caught:
        fit_leakage(rows, source="leakage.parquet")
    error = caught.value
    assert (error.file, error.line, error.participant, error.field) == (
        "leakage.parquet",
        5,
        str(rows.loc[4, "person"]),
        "x",
    )


def test_rows_without_any_information_are_an_error_that_says_why() -> None:
    rows = leakage_rows(0.3, persons=2, rows=3).assign(x=0.0)
    with pytest.raises(StudyInputError, match="experiment 'e1' left out: x is 0 on every row"):
        fit_leakage(rows)

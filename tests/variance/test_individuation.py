"""V2: profile and person-specific benefit, and the paper's Cohen's d."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from study.errors import StudyInputError
from study.variance.individuation import Columns, cohens_d_table, individuation
from study.variance.plots import plot_benefit
from study.variance.simulate import simulate_individuation

BENEFITS = {"e1": 0.0, "e2": 0.15, "e3": 0.4}


@pytest.fixture(scope="module")
def nll():
    return simulate_individuation(BENEFITS, participants=30, choices=15, placebo=0.05, seed=4)


@pytest.fixture(scope="module")
def v2(nll):
    return individuation(nll, rope=0.02, seed=1)


def test_per_experiment_benefits_are_recovered(v2):
    assert v2.passed
    table = v2.table.set_index(["contrast", "experiment"])
    for experiment, benefit in BENEFITS.items():
        row = table.loc[("profile_benefit", experiment)]
        assert row["lower"] <= benefit <= row["upper"]
        placebo_row = table.loc[("person_specific_benefit", experiment)]
        assert placebo_row["lower"] <= benefit - 0.05 <= placebo_row["upper"]
    # The large benefit clears the ROPE; the null one does not.
    assert table.loc[("profile_benefit", "e3"), "p_above_rope"] > 0.99
    assert table.loc[("profile_benefit", "e1"), "p_above_rope"] < 0.9
    pooled = table.loc[("profile_benefit", "(pooled)")]
    assert pooled["lower"] < np.mean(list(BENEFITS.values())) < pooled["upper"]
    assert pooled["n_participants"] == 90


def test_cohens_d_matches_a_hand_computation(nll):
    table = cohens_d_table(nll).set_index("experiment")
    wide = nll.pivot_table(
        index=["experiment", "participant", "index"], columns="persona", values="nll"
    ).reset_index()
    means = wide.groupby(["experiment", "participant"])[["none", "own"]].mean()
    e2 = means.loc["e2"]
    expected = (e2["none"].mean() - e2["own"].mean()) / np.sqrt(
        (e2["none"].std() ** 2 + e2["own"].std() ** 2) / 2
    )
    assert table.loc["e2", "d"] == pytest.approx(expected)
    assert table.loc["e2", "n_participants"] == 30
    by_choice = cohens_d_table(nll, unit="choice").set_index("experiment")
    assert by_choice.loc["e2", "n_choices"] == 30 * 15
    assert table.loc["e1", "d"] < table.loc["e2", "d"] < table.loc["e3", "d"]


def test_benefit_plot(v2, tmp_path):
    plot_benefit(v2, path=tmp_path / "benefit.png")
    assert (tmp_path / "benefit.png").read_bytes()[:4] == b"\x89PNG"


def test_duplicate_rows_are_named(nll):
    broken = pd.concat([nll, nll.iloc[[5]]], ignore_index=True)
    with pytest.raises(StudyInputError) as caught:
        cohens_d_table(broken)
    assert caught.value.field == "persona"
    assert caught.value.participant == nll.loc[5, "participant"]


def test_custom_column_names(nll):
    renamed = nll.rename(columns={"index": "choice", "nll": "loss"})
    table = cohens_d_table(renamed, columns=Columns(index="choice", nll="loss"))
    assert len(table) == 3


def test_marginal_likelihood_equals_the_multivariate_normal():
    """The experiments' effects integrated out by hand, cell by cell, give scipy's joint
    normal density over the participants."""
    from scipy.stats import multivariate_normal

    from study.variance.individuation import marginal_loglik, mean_cells

    rng = np.random.default_rng(3)
    group = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    # Repeated choice counts within a group: those participants share a cell.
    n = np.array([5.0, 5.0, 8.0, 3.0, 3.0, 4.0, 9.0, 9.0, 9.0])
    means = rng.normal(size=group.size)
    between, within = np.array([0.4, 1.1, 0.7]), np.array([1.5, 0.8, 2.0])
    theta = np.array([0.3, -0.2, 0.1])
    tau2 = np.array([0.3, 1.7, 0.05])
    cells = mean_cells(means, n, group)
    weight = 1.0 / (between[cells.group] ** 2 + within[cells.group] ** 2 / cells.n)
    ours = float(marginal_loglik(cells, theta[cells.group], weight, tau2).eval())
    expected = 0.0
    for g in range(3):
        mine = group == g
        cov = np.diag(between[g] ** 2 + within[g] ** 2 / n[mine]) + tau2[g]
        expected += multivariate_normal(mean=np.full(mine.sum(), theta[g]), cov=cov).logpdf(
            means[mine]
        )
    constant = -0.5 * group.size * np.log(2 * np.pi)
    assert len(cells.n) == 5  # (0, 5), (0, 8), (1, 3), (2, 4), (2, 9)
    assert ours + constant == pytest.approx(expected, rel=1e-10)


def test_the_result_explains_and_saves_itself(v2, tmp_path):
    text = v2.summary()
    assert text.startswith("diagnostics PASSED; 94% ETI intervals; ROPE +/-0.02")
    assert "person_specific_benefit" in text and "(pooled)" in text
    written = v2.save(tmp_path / "v2")
    assert written == [
        "benefit.csv",
        "diagnostics.csv",
        "posterior.nc",
        "notes.json",
        "benefit.png",
    ]
    saved = pd.read_csv(tmp_path / "v2" / "benefit.csv")
    pd.testing.assert_frame_equal(saved, v2.table, check_dtype=False)
    assert (tmp_path / "v2" / "benefit.png").read_bytes()[:4] == b"\x89PNG"

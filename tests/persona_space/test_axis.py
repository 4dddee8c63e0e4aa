"""C6 axis table on synthetic activations with a known truth: a planted assistant
direction is recovered and beats the null; without one the cosine stays within the null
and the held-out AUROC is at chance."""

from __future__ import annotations

import numpy as np
import pytest

from study.persona_space import AXIS_COLUMNS, activation_set, axis_table
from study.persona_space.reliability import auroc
from study.persona_space.simulate import simulate_activations
from study.persona_space.space import components_reaching, null_splits, pca

CONDITIONS = ["assistant", "none", "own", "other"] + [f"role:r{i}" for i in range(12)]


def planted(shift: float, seed: int, **kwargs: object):
    sim = simulate_activations(CONDITIONS, shift=shift, seed=seed, **kwargs)  # type: ignore[arg-type]
    return sim, activation_set(sim.keys, sim.values, model="sim")


def test_a_planted_direction_is_recovered_at_every_layer():
    sim, acts = planted(shift=3.0, seed=1)
    result = axis_table(acts, null_draws=1000)
    table = result.table
    assert list(table.columns) == AXIS_COLUMNS
    assert table["layer"].tolist() == [0, 1, 2]
    assert (table["cos_pc1"] > 0.9).all()
    assert (table["cos_pc1"] > table["null_upper"]).all()
    # 15 non-assistant conditions: every split of the null taken once, and the observed
    # cosine is above all of them.
    assert (table["null_draws"] == 15).all()
    assert np.allclose(table["p_value"], 1 / 16)
    assert (table["split_half_cos"] > 0.9).all()
    assert (table["auroc"] > 0.95).all()
    assert (table["n_persons"] == 24).all() and (table["n_conditions"] == 16).all()
    for layer, axis in result.axes.items():
        assert abs(axis @ sim.direction) > 0.85, layer
    # The assistant dominates PC1: its share is well above the 1/15 of isotropic means.
    assert (table["pc1_share"] > 0.25).all()


def test_without_a_planted_direction_the_cosine_stays_within_its_null():
    # The assistant is a condition like the others: its statistic is exchangeable with
    # the null's, so it exceeds null_upper only about once in 16 (at the exact null's
    # resolution). (Its AUROC is not at chance: its own random mean still sets it apart,
    # as it would any condition; see the next test for no signal at all.)
    above, cosines = 0, []
    for seed in range(20):
        _, acts = planted(shift=0.0, seed=100 + seed, layers=1)
        row = axis_table(acts, split_draws=4).table.iloc[0]
        above += int(row["cos_pc1"] > row["null_upper"])
        cosines.append(row["cos_pc1"])
    assert above <= 4
    assert np.mean(cosines) < 0.7


def test_auroc_is_at_chance_without_any_signal():
    # No condition differs at all: the axis is fitted to noise.
    sim = simulate_activations(CONDITIONS, condition_sd=0.0, layers=1, persons=20, seed=3)
    acts = activation_set(sim.keys, sim.values)
    row = axis_table(acts, split_draws=10).table.iloc[0]
    assert abs(row["auroc"] - 0.5) < 0.05
    assert abs(row["split_half_cos"]) < 0.3


def test_auroc_counts_ties_as_half():
    assert auroc(np.array([1.0, 1.0]), np.array([True, False])) == 0.5
    assert auroc(np.array([0.0, 1.0, 2.0]), np.array([False, True, True])) == 1.0
    assert np.isnan(auroc(np.array([0.0, 1.0]), np.array([True, True])))


def test_pca_of_known_means():
    # Four conditions on two orthogonal axes with variances 4:1.
    means = np.array([[2.0, 0, 0], [-2.0, 0, 0], [0, 1.0, 0], [0, -1.0, 0]])
    shares, components = pca(means)
    assert np.allclose(shares, [0.8, 0.2, 0.0])
    assert np.allclose(np.abs(components[0]), [1, 0, 0])
    assert components_reaching(shares, 0.7) == 1
    assert components_reaching(shares, 0.9) == 2
    assert components_reaching(np.zeros(3), 0.7) == 0


def test_the_null_draws_random_splits_when_there_are_more_than_draws():
    assistant = np.array([True, True] + [False] * 10)
    rng = np.random.default_rng(0)
    # 45 pairs of non-assistant conditions: all when draws >= 45, else drawn.
    assert len(null_splits(12, assistant, 45, rng)) == 45
    drawn = null_splits(12, assistant, 30, rng)
    assert len(drawn) == 30
    assert all(mask.sum() == 2 and not mask[:2].any() for mask in drawn)
    with pytest.raises(ValueError, match="more non-assistant conditions"):
        null_splits(2, np.array([True, False]), 10, rng)


def test_several_assistant_conditions_and_a_missing_one():
    _, acts = planted(shift=3.0, seed=2, layers=1)
    two = axis_table(acts, assistant=("assistant", "none")).table.iloc[0]
    assert two["null_draws"] == 91  # pairs of the other 14 conditions
    with pytest.raises(ValueError, match="not among the conditions"):
        axis_table(acts, assistant=("helper",))


def test_a_person_without_some_condition_still_counts_in_the_means():
    sim, full = planted(shift=3.0, seed=4, layers=1)
    # Drop one person's assistant rows: that person still informs the other conditions,
    # and the axis barely moves.
    keys = sim.keys
    dropped = (keys["experiment"] == "e0") & (keys["participant"] == 0)
    keep = ~(dropped & (keys["condition"] == "assistant")).to_numpy()
    acts = activation_set(keys[keep].reset_index(drop=True), sim.values[keep])
    result = axis_table(acts)
    row, before = result.table.iloc[0], axis_table(full).table.iloc[0]
    assert row["n_persons"] == 24
    assert abs(row["cos_pc1"] - before["cos_pc1"]) < 0.05
    assert abs(result.axes[0] @ axis_table(full).axes[0]) > 0.99

"""C4 cross-talk: CT/SS as a ratio of means with a person-clustered t interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from study.errors import ConfigError, StudyInputError
from study.hosting.crosstalk import crosstalk_ratio

TRUTHS = {"e1": 0.05, "e2": 0.2}
PERSONS, PROBES = 300, 4


def probe_rows(
    truths: dict[str, float],
    *,
    persons: int = PERSONS,
    probes: int = PROBES,
    spread: float = 0.6,
    seed: int = 0,
) -> pd.DataFrame:
    """Each person's CT/SS is the truth times a lognormal multiplier of mean one; each
    probe's ct is that ratio times its ss, with mean-one probe noise."""
    rng = np.random.default_rng(seed)
    parts = []
    for experiment, truth in truths.items():
        ratio = truth * rng.lognormal(-(spread**2) / 2, spread, size=persons)
        ss = rng.gamma(2.0, 0.5, size=(persons, probes))
        ct = ratio[:, None] * ss * rng.lognormal(-0.02, 0.2, size=(persons, probes))
        person = np.repeat(np.arange(persons), probes)
        columns = {"person": person, "ct": ct.ravel(), "ss": ss.ravel()}
        parts.append(pd.DataFrame({"experiment": experiment, **columns}))
    return pd.concat(parts, ignore_index=True)


def cluster_width(rows: pd.DataFrame, prob: float = 0.94) -> float:
    """The width of the normal interval from the delta method's person-clustered SE of
    sum(ct) / sum(ss), written out here independently: what the t interval approaches
    with many persons."""
    from scipy.stats import norm

    ratio = rows["ct"].sum() / rows["ss"].sum()
    persons = rows.groupby("person")[["ct", "ss"]].sum()
    n = len(persons)
    se = np.sqrt(n / (n - 1) * ((persons["ct"] - ratio * persons["ss"]) ** 2).sum())
    return float(2 * norm.ppf(0.5 + prob / 2) * se / rows["ss"].sum())


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return probe_rows(TRUTHS)


def test_the_ratio_and_its_interval_recover_the_truth(rows: pd.DataFrame) -> None:
    result = crosstalk_ratio(rows)
    table = result.table.set_index("experiment")
    assert list(table.index) == ["(pooled)", "e1", "e2"]
    # Equal designs: the pooled ratio of means is the mean of the experiments' truths.
    truths = {**TRUTHS, "(pooled)": np.mean(list(TRUTHS.values()))}
    for experiment, truth in truths.items():
        row = table.loc[experiment]
        assert row["lower"] <= truth <= row["upper"]
        subset = rows if experiment == "(pooled)" else rows[rows["experiment"] == experiment]
        assert row["estimate"] == pytest.approx(subset["ct"].sum() / subset["ss"].sum())
    assert table.loc["e1", "upper"] < table.loc["e2", "lower"]
    assert table.loc["e1", "n_persons"] == PERSONS
    assert table.loc["e1", "n_probes"] == PERSONS * PROBES
    assert table.loc["(pooled)", "n_persons"] == 2 * PERSONS
    assert result.notes == []


def test_the_interval_is_clustered_on_persons(rows: pd.DataFrame) -> None:
    """Its width matches the person-clustered delta-method SE, which is well above what
    treating probes one by one would give (persons differ much more than probes)."""
    table = crosstalk_ratio(rows).table.set_index("experiment")
    for experiment in TRUTHS:
        subset = rows[rows["experiment"] == experiment]
        width = table.loc[experiment, "upper"] - table.loc[experiment, "lower"]
        assert width == pytest.approx(cluster_width(subset), rel=0.02)
        by_probe = cluster_width(subset.assign(person=np.arange(len(subset))))
        assert width > 1.3 * by_probe


def test_few_persons_get_intervals_that_cover_as_stated() -> None:
    """With 4 persons per experiment (a quick run's size) and the simulated engine's
    spread of persons (0.3), the 94% interval covers the truth in 90-98% of 300
    simulated data sets (binomial SE about 1.4 points)."""
    covered = []
    for seed in range(300):
        rows = probe_rows({"e": 0.2}, persons=4, spread=0.3, seed=seed)
        table = crosstalk_ratio(rows).table
        row = table.set_index("experiment").loc["e"]
        covered.append(row["lower"] <= 0.2 <= row["upper"])
    assert 0.90 <= np.mean(covered) <= 0.98


def test_one_person_has_a_ratio_but_no_interval() -> None:
    rows = probe_rows({"alone": 0.1}, persons=1, seed=4)
    result = crosstalk_ratio(pd.concat([rows, probe_rows({"e": 0.2}, persons=5)]))
    table = result.table.set_index("experiment")
    assert np.isfinite(table.loc["alone", "estimate"])
    assert table.loc["alone", ["lower", "upper"]].isna().all()
    assert np.isfinite(table.loc["(pooled)", ["lower", "upper"]].to_numpy(dtype=float)).all()
    assert any("'alone' has one person" in note for note in result.notes)


def test_an_experiment_without_self_signal_has_no_ratio(rows: pd.DataFrame) -> None:
    silent = probe_rows({"silent": 0.1}, persons=5, seed=3).assign(ss=0.0)
    result = crosstalk_ratio(pd.concat([rows, silent], ignore_index=True))
    table = result.table.set_index("experiment")
    assert table.loc["silent", ["estimate", "lower", "upper"]].isna().all()
    assert table.loc["silent", "n_probes"] == 5 * PROBES
    assert any("'silent': sum(ss) is 0" in note for note in result.notes)
    # Its probes still count in the pooled ratio of all probes.
    pooled = table.loc["(pooled)"]
    everything = pd.concat([rows, silent])
    assert pooled["estimate"] == pytest.approx(everything["ct"].sum() / everything["ss"].sum())
    assert np.isfinite(pooled[["lower", "upper"]].to_numpy(dtype=float)).all()


def test_a_negative_value_names_its_row_person_and_column(rows: pd.DataFrame) -> None:
    broken = rows.copy()
    broken.loc[7, "ss"] = -0.5
    with pytest.raises(StudyInputError, match=r"ss -0\.5 is negative") as caught:
        crosstalk_ratio(broken, source="probes.parquet")
    error = caught.value
    assert (error.file, error.line, error.participant, error.field) == (
        "probes.parquet",
        8,
        str(rows.loc[7, "person"]),
        "ss",
    )


def test_missing_columns_and_bad_settings_are_errors(rows: pd.DataFrame) -> None:
    with pytest.raises(StudyInputError, match="column 'ct' not found"):
        crosstalk_ratio(rows.drop(columns="ct"))
    with pytest.raises(ConfigError, match="prob"):
        crosstalk_ratio(rows, prob=1.5)

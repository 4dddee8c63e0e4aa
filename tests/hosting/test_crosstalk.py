"""C4 cross-talk: CT/SS as a ratio of means with a person-clustered bootstrap."""

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
    sum(ct) / sum(ss): what a bootstrap over persons should approximate."""
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
    result = crosstalk_ratio(rows, seed=1)
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
    resampling probes one by one would give (persons differ much more than probes)."""
    table = crosstalk_ratio(rows, seed=2).table.set_index("experiment")
    for experiment in TRUTHS:
        subset = rows[rows["experiment"] == experiment]
        width = table.loc[experiment, "upper"] - table.loc[experiment, "lower"]
        assert width == pytest.approx(cluster_width(subset), rel=0.15)
        by_probe = cluster_width(subset.assign(person=np.arange(len(subset))))
        assert width > 1.3 * by_probe


def test_the_same_seed_gives_the_same_table(rows: pd.DataFrame) -> None:
    first = crosstalk_ratio(rows, seed=5, resamples=500).table
    pd.testing.assert_frame_equal(first, crosstalk_ratio(rows, seed=5, resamples=500).table)
    other = crosstalk_ratio(rows, seed=6, resamples=500).table
    pd.testing.assert_series_equal(first["estimate"], other["estimate"])
    assert not np.allclose(first["lower"], other["lower"])


def test_an_experiment_without_self_signal_has_no_ratio(rows: pd.DataFrame) -> None:
    silent = probe_rows({"silent": 0.1}, persons=5, seed=3).assign(ss=0.0)
    result = crosstalk_ratio(pd.concat([rows, silent], ignore_index=True), resamples=300)
    table = result.table.set_index("experiment")
    assert table.loc["silent", ["estimate", "lower", "upper"]].isna().all()
    assert table.loc["silent", "n_probes"] == 5 * PROBES
    assert any("'silent': sum(ss) is 0" in note for note in result.notes)
    # Its probes still count in the pooled ratio of all probes.
    pooled = table.loc["(pooled)"]
    everything = pd.concat([rows, silent])
    assert pooled["estimate"] == pytest.approx(everything["ct"].sum() / everything["ss"].sum())
    assert np.isfinite(pooled[["lower", "upper"]].to_numpy(dtype=float)).all()


def test_resamples_without_self_signal_count_as_infinite() -> None:
    """One person of three moved under self-swaps: about 30% of resamples miss them."""
    rows = pd.DataFrame(
        {"experiment": "e", "person": [1, 2, 3], "ct": [0.1, 0.2, 0.3], "ss": [1.0, 0.0, 0.0]}
    )
    result = crosstalk_ratio(rows, resamples=400)
    row = result.table.set_index("experiment").loc["e"]
    assert row["estimate"] == pytest.approx(0.6)
    assert row["upper"] == np.inf and np.isfinite(row["lower"])
    assert any("resamples have sum(ss) = 0" in note for note in result.notes)


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
    with pytest.raises(ConfigError, match="resamples"):
        crosstalk_ratio(rows, resamples=0)
    with pytest.raises(ConfigError, match="prob"):
        crosstalk_ratio(rows, prob=1.5)

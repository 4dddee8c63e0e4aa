"""V2 on the data the T1 protocol gives: unpaired arms, experiments without `own` or
`other` rows, and persons with several sessions."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from study.errors import ConfigError, StudyInputError
from study.variance.individuation import cohens_d_table, individuation
from study.variance.simulate import simulate_individuation

CHOICES = 6


@pytest.fixture(scope="module")
def nll() -> pd.DataFrame:
    return simulate_individuation(
        {"full": 0.3, "no_own": 0.3, "no_other": 0.3, "same_prompt": 0.3, "half_own": 0.3},
        participants=12,
        choices=CHOICES,
        seed=2,
    )


def t1_arms(nll: pd.DataFrame) -> pd.DataFrame:
    """What the T1 protocol produces: an experiment without profile fields has no `own`
    rows; one where no donor's preamble differs has no `other` rows; one whose `own`
    prompt equals its `none` prompt scores them identically; and `own` holds only the
    participants with a profile (here half of them)."""
    persona, experiment = nll["persona"], nll["experiment"]
    keep = ~((experiment == "no_own") & (persona == "own"))
    keep &= ~((experiment == "no_other") & (persona == "other"))
    number = nll["participant"].str.rsplit("p", n=1).str[1].astype(int)
    keep &= ~((experiment == "half_own") & (persona == "own") & (number % 2 == 1))
    arms = nll[keep].copy()
    same = arms["experiment"] == "same_prompt"
    none_nll = arms[same & (arms["persona"] == "none")].set_index(["participant", "index"])["nll"]
    own = same & (arms["persona"] == "own")
    arms.loc[own, "nll"] = none_nll.loc[
        list(zip(arms.loc[own, "participant"], arms.loc[own, "index"], strict=True))
    ].to_numpy()
    return arms


@pytest.fixture(scope="module")
def v2(nll: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the short chains may fail the gate: not tested here
        return individuation(t1_arms(nll), draws=300, tune=300, chains=2, retries=0, seed=3)


def test_experiments_without_an_arm_are_left_out_with_a_note(v2) -> None:
    rows = set(zip(v2.table["contrast"], v2.table["experiment"], strict=True))
    assert rows == {
        ("profile_benefit", "(pooled)"),
        ("profile_benefit", "full"),
        ("profile_benefit", "no_other"),
        ("profile_benefit", "half_own"),
        ("person_specific_benefit", "(pooled)"),
        ("person_specific_benefit", "full"),
        ("person_specific_benefit", "same_prompt"),
        ("person_specific_benefit", "half_own"),
    }
    notes = "\n".join(v2.notes)
    assert "profile_benefit: experiment 'no_own' left out: it has no 'own' rows" in notes
    assert "person_specific_benefit: experiment 'no_own' left out: it has no 'own' rows" in notes
    assert "person_specific_benefit: experiment 'no_other' left out: it has no 'other'" in notes
    assert "profile_benefit: experiment 'same_prompt' left out: the contrast does not vary" in notes
    assert np.isfinite(v2.table[["mean", "lower", "upper"]].to_numpy()).all()
    theta = v2.tree["posterior"]["theta_experiment"]
    assert sorted(map(str, theta["group_experiment"].values)) == sorted(
        e for c, e in rows if e != "(pooled)"
    )


def test_unpaired_arms_use_the_participants_present_in_both(v2) -> None:
    table = v2.table.set_index(["contrast", "experiment"])
    assert table.loc[("profile_benefit", "half_own"), "n_participants"] == 6
    assert table.loc[("profile_benefit", "full"), "n_participants"] == 12
    # `other` vs `own` also pairs only where both exist.
    assert table.loc[("person_specific_benefit", "half_own"), "n_choices"] == 6 * CHOICES


def test_sessions_of_a_person_share_it(nll: pd.DataFrame) -> None:
    """The same choices regrouped into three sessions of each person: a choice is
    (person, session, index), and the person-level statistics do not change."""
    sessions = nll.assign(session=nll["index"] // 2, index=nll["index"] % 2)
    with pytest.raises(StudyInputError, match="has two rows for persona"):
        cohens_d_table(sessions.drop(columns="session"))
    by_person = cohens_d_table(nll)
    by_session = cohens_d_table(sessions)
    pd.testing.assert_frame_equal(by_session, by_person)
    assert (by_session["n_participants"] == 12).all()


def test_no_contrast_at_all_is_an_error_that_says_why(nll: pd.DataFrame) -> None:
    only_none = nll[nll["persona"] == "none"]
    with pytest.raises(ConfigError, match="no contrast can be formed"):
        individuation(only_none)

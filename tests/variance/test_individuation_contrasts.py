"""V2 with contrasts named by the caller: C4's interleaved vs solo NLL."""

from __future__ import annotations

import pandas as pd
import pytest

from study.errors import ConfigError
from study.variance.individuation import individuation
from study.variance.simulate import simulate_individuation

# True mean of NLL(interleaved) - NLL(solo) per experiment.
DELTAS = {"e1": 0.3, "e2": 0.05}
PARTICIPANTS, CHOICES = 30, 8
DELTA_NLL = {"delta_nll": ("interleaved", "solo")}


@pytest.fixture(scope="module")
def nll() -> pd.DataFrame:
    """The simulator's `none` - `own` difference is the known delta; its `other` rows
    become a persona that no contrast asks for (and so must be ignored)."""
    frame = simulate_individuation(DELTAS, participants=PARTICIPANTS, choices=CHOICES, seed=7)
    labels = {"none": "interleaved", "own": "solo", "other": "alone:own"}
    return frame.assign(persona=frame["persona"].map(labels))


@pytest.fixture(scope="module")
def delta(nll: pd.DataFrame):
    return individuation(
        nll, contrasts=DELTA_NLL, draws=500, tune=500, chains=2, cores=1, retries=1, seed=5
    )


def test_a_custom_contrast_recovers_the_simulated_difference(delta) -> None:
    assert delta.passed
    table = delta.table.set_index("experiment")
    assert set(delta.table["contrast"]) == {"delta_nll"}
    for experiment, truth in DELTAS.items():
        row = table.loc[experiment]
        assert row["lower"] <= truth <= row["upper"]
        # Only the two personas of the contrast count: each choice once.
        assert row["n_choices"] == PARTICIPANTS * CHOICES
    # The two experiments are told apart: the large delta's interval excludes the small.
    assert table.loc["e1", "lower"] > DELTAS["e2"]
    assert table.loc["(pooled)", "n_participants"] == 2 * PARTICIPANTS
    assert list(delta.tree["posterior"]["contrast"].values) == ["delta_nll"]


def test_no_custom_contrast_can_be_formed_names_the_ones_asked_for(nll: pd.DataFrame) -> None:
    only_solo = nll[nll["persona"].isin(["solo", "alone:own"])]
    with pytest.raises(ConfigError, match=r"delta_nll \('interleaved' vs 'solo'\)"):
        individuation(only_solo, contrasts=DELTA_NLL)


@pytest.mark.parametrize("contrasts", [{}, {"same": ("solo", "solo")}, {"one": ("solo",)}])
def test_malformed_contrasts_are_config_errors(nll: pd.DataFrame, contrasts) -> None:
    with pytest.raises(ConfigError, match="contrast"):
        individuation(nll, contrasts=contrasts)


def test_the_default_contrasts_ignore_personas_they_do_not_name(nll: pd.DataFrame) -> None:
    """With the default contrasts, C4's labels are no V2 persona: nothing to fit."""
    with pytest.raises(ConfigError, match="profile_benefit \\('none' vs 'own'\\)"):
        individuation(nll)

"""Trials: cut at the choice spans, each holding exactly one response at its span, and
together the whole transcript up to the last response."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st

from study.hosting.trials import after_last, cut_trials, trials
from tests.hosting.helpers import EXPERIMENTS, made_up
from tests.personas.helpers import shipped

ROOT = Path(__file__).resolve().parents[2]


def check_cut(transcript: str, spans: list[tuple[int, int]]) -> None:
    cut = cut_trials(transcript, spans)
    assert len(cut) == len(spans)
    assert "".join(t.text for t in cut) + after_last(transcript, spans) == transcript
    for k, (trial, (start, end)) in enumerate(zip(cut, spans, strict=True)):
        assert trial.choice == k
        assert trial.response == transcript[start:end]
        assert trial.text.endswith(">>") and trial.text.count("<<") == 1
        stripped = trial.lstripped()
        assert stripped.response == trial.response
        assert not stripped.text[:1].isspace()


def test_made_up_trials_hold_the_outcome_before_and_the_response() -> None:
    person = made_up("1", ["L", "R", "L"])
    cut = trials(person)
    assert cut[0].text == "Instructions.\nTrial 0: press <<L>>"
    assert cut[1].text == "\nOutcome. Trial 1: press <<R>>"
    assert cut[1].lstripped().text == "Outcome. Trial 1: press <<R>>"
    assert after_last(person.transcript, [(c.start, c.end) for c in person.choices]) == "\nDone."


def test_no_response_no_trial() -> None:
    assert cut_trials("Only instructions.", []) == ()
    assert after_last("Only instructions.", []) == "Only instructions."


_plain = st.text(alphabet=st.sampled_from("ab \n.<>"), max_size=12).filter(
    lambda s: "<<" not in s and ">>" not in s and not s.endswith("<") and not s.startswith(">")
)


_response = st.text(alphabet="LRxy ", min_size=1, max_size=4)


@given(st.lists(st.tuples(_plain, _response), max_size=6), _plain)
def test_any_transcript_is_cut_into_its_trials(pieces, tail) -> None:
    transcript, spans = "", []
    for text, response in pieces:
        transcript += text + "<<"
        spans.append((len(transcript), len(transcript) + len(response)))
        transcript += response + ">>"
    check_cut(transcript + tail, spans)


def test_shipped_transcripts_are_cut_into_their_trials() -> None:
    for experiment in EXPERIMENTS:
        for person in shipped(experiment, 5):
            check_cut(person.transcript, [(c.start, c.end) for c in person.choices])


def test_data_cards_show_the_cut_of_the_first_transcript() -> None:
    for experiment in EXPERIMENTS:
        card = yaml.safe_load((ROOT / "data_cards" / f"{experiment}.yaml").read_text())
        first = shipped(experiment, 1)[0]
        cut = trials(first)
        assert card["trials"]["participant"] == first.participant
        assert card["trials"]["first_trial_chars"] == len(cut[0].text)
        assert card["trials"]["example"] == cut[1].text
        assert (
            "## How a trial is cut (C4 interleaving)"
            in (ROOT / "data_cards" / f"{experiment}.md").read_text()
        )

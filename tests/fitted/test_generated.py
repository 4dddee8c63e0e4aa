"""The PersonaAgent loop's bookkeeping (study.fitted.generated) with the simulated
engine, whose NLLs depend on the description's text (through its persona tag): rounds,
the refinement's worst-predicted choices, the best-kept rule, the placebo, the seeds
and the store."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from study.engines.base import SampleRequest, SampleResult, ScoreRequest, ScoreResult
from study.engines.config import SimulatedEngineConfig
from study.engines.simulated import SimulatedEngine
from study.errors import ConfigError
from study.fitted.config import FittedConfig, check_generated
from study.fitted.generated import GeneratedOutcome, generate_personas, worst
from study.fitted.generated_prompts import error_lines, positions
from study.fitted.heldout import first_k
from study.personas import render
from study.personas.conditions import PersonaCondition
from study.personas.config import PersonaTextsConfig
from study.pipeline.inputs import load_people
from study.records import Participant
from study.store import ResponseStore
from tests.pipeline.conftest import make_config

DATA = Path(__file__).resolve().parents[2] / "data" / "psych201"


class Recording:
    """The simulated engine, with every request it answered kept (a spy, not a mock:
    every answer is the simulated engine's own)."""

    def __init__(self) -> None:
        self.inner = SimulatedEngine(SimulatedEngineConfig(seed=3))
        self.scored: list[tuple[ScoreRequest, ScoreResult]] = []
        self.sampled: list[SampleRequest] = []

    def fingerprint(self):
        return self.inner.fingerprint()

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def chat_prompt(self, user: str) -> str | None:
        return self.inner.chat_prompt(user)

    def score(self, requests: Sequence[ScoreRequest]) -> Iterator[ScoreResult]:
        for request, result in zip(requests, self.inner.score(requests), strict=True):
            self.scored.append((request, result))
            yield result

    def sample(self, requests: Sequence[SampleRequest]) -> Iterator[SampleResult]:
        self.sampled.extend(requests)
        yield from self.inner.sample(requests)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def base() -> tuple[FittedConfig, object, list[Participant]]:
    cfg = make_config(["experiment=fitted_personas"])
    people = load_people(DATA / "dezfouli2019", 4, 12) + load_people(
        DATA / "thoma2025riskychoice", 3, 12
    )
    return cfg.fitted, cfg.preamble, people


def run(
    base, store: Path, *, seed: int = 0, engine: Recording | None = None, **settings
) -> tuple[GeneratedOutcome, Recording]:
    fitted, preamble, people = base
    fitted = replace(fitted, generated=replace(fitted.generated, **settings))
    engine = engine or Recording()
    with ResponseStore(store) as opened:
        outcome = generate_personas(
            engine, opened, people, first_k(people, fitted.split), fitted, preamble, seed=seed
        )
    return outcome, engine


def test_every_person_gets_a_text_per_round_and_keeps_the_best(base, tmp_path) -> None:
    outcome, _ = run(base, tmp_path, rounds=3, batch=2)
    rows = outcome.rows
    persons = {(p.experiment, p.participant) for p in base[2]}
    assert rows.height == 4 * len(persons)
    for _, group in rows.group_by("experiment", "participant"):
        assert sorted(group["round"].to_list()) == [0, 1, 2, 3]
        scored = group.filter(pl.col("nll_first_k").is_not_null())
        kept = group.filter(pl.col("kept"))
        assert kept.height == 1
        best = scored["nll_first_k"].min()
        # Lowest first-K NLL; ties to the earliest round.
        assert kept["nll_first_k"][0] == best
        assert kept["round"][0] == scored.filter(pl.col("nll_first_k") == best)["round"].min()
    # The simulated engine's texts vary, so refinement changed some descriptions.
    assert rows["text"].n_unique() > len(persons)
    # Every person with a kept description has its held-out rows.
    own = outcome.scores.filter(pl.col("persona") == "generated_own")
    assert own.select("experiment", "participant").unique().height == len(persons)


def test_a_refinement_shows_the_worst_predicted_first_k_choices(base, tmp_path) -> None:
    fitted, _, people = base
    outcome, engine = run(base, tmp_path, rounds=1, batch=2, context_chars=40)
    split = first_k(people, fitted.split)
    round_zero = outcome.rows.filter(pl.col("round") == 0)
    for session in people:
        person = session.person
        text = round_zero.filter(
            (pl.col("experiment") == person[0]) & (pl.col("participant") == person[1])
        )["text"][0]
        # The score the loop read for the round-0 description, as the engine answered.
        (result,) = [
            r
            for q, r in engine.scored
            if dict(q.tags)["participant"] == person[1]
            and dict(q.tags)["experiment"] == person[0]
            and q.prompt.startswith(fitted.template.replace("{sentences}", text).rstrip() + "\n\n")
        ]
        chosen = worst(result.nll, split[person], 2)
        assert len(chosen) == 2 and all(i < split[person] for i in chosen)
        assert max(result.nll[: split[person]]) == result.nll[chosen[0]]
        expected = error_lines(
            [positions([session])[i] for i in chosen], fitted.generated.error, 40
        )
        (refine,) = [
            r
            for r in engine.sampled
            if dict(r.tags)["participant"] == person[1]
            and dict(r.tags)["experiment"] == person[0]
            and dict(r.tags)["round"] == "1"
        ]
        assert dict(refine.tags)["kind"] == "refine"
        assert expected in refine.prompt and text in refine.prompt


def test_the_placebo_is_another_persons_description(base, tmp_path) -> None:
    fitted, preamble, people = base
    outcome, engine = run(base, tmp_path, rounds=1)
    kept = {
        (e, p): t
        for e, p, t in outcome.rows.filter(pl.col("kept"))
        .select("experiment", "participant", "text")
        .iter_rows()
    }
    # Every person has a donor: each experiment has several persons.
    assert outcome.placebo.height == len(kept)
    for _, rows in outcome.placebo.group_by("experiment"):
        # A permutation within the experiment: every description is given once.
        assert sorted(rows["donor"].to_list()) == sorted(rows["participant"].to_list())
    for experiment, participant, donor in outcome.placebo.iter_rows():
        assert donor != participant
        text = kept[(experiment, donor)]
        # generated_other is the donor's text scored on this person's transcript.
        session = next(p for p in people if p.person == (experiment, participant))
        texts = PersonaTextsConfig(archetypes={"x": fitted.template.replace("{sentences}", text)})
        prompt = render(session, PersonaCondition("archetype", "x"), texts, preamble)
        other = outcome.scores.filter(
            (pl.col("experiment") == experiment)
            & (pl.col("participant") == participant)
            & (pl.col("persona") == "generated_other")
        ).sort("choice")
        (expected,) = [
            r for q, r in engine.scored if q.prompt == prompt.prompt and q.spans == prompt.spans
        ]
        assert other["nll"].to_list() == pytest.approx(list(expected.nll))


def test_seeds_differ_by_person_and_round_and_follow_the_config_seed(base, tmp_path) -> None:
    outcome, engine = run(base, tmp_path / "a", rounds=2)
    seeds = [r.seed for r in engine.sampled]
    assert len(set(seeds)) == len(seeds)  # one stream per (person, round)
    again, engine_again = run(base, tmp_path / "b", rounds=2)
    assert [r.seed for r in engine_again.sampled] == seeds
    assert again.rows.equals(outcome.rows)
    other, engine_other = run(base, tmp_path / "c", rounds=2, seed=1)
    assert not set(r.seed for r in engine_other.sampled) & set(seeds)
    assert other.rows["text"].to_list() != outcome.rows["text"].to_list()


def test_a_rerun_resumes_from_the_store(base, tmp_path) -> None:
    first, _ = run(base, tmp_path, rounds=0)
    assert first.computed > 0 and first.reused == 0
    # More rounds on the same store: round 0's requests are not asked again.
    longer, engine = run(base, tmp_path, rounds=1)
    assert longer.rows.filter(pl.col("round") == 0).drop("kept").equals(first.rows.drop("kept"))
    assert not any(dict(r.tags)["round"] == "0" for r in engine.sampled)
    assert longer.reused >= first.rows.height
    # The same config again: nothing is computed.
    again, engine = run(base, tmp_path, rounds=1)
    assert again.computed == 0 and not engine.sampled and not engine.scored
    assert again.rows.equals(longer.rows) and again.scores.equals(longer.scores)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rounds": -1}, "fitted.generated.rounds"),
        ({"batch": 0}, "fitted.generated.batch"),
        ({"max_tokens": 0}, "fitted.generated.max_tokens"),
        ({"persons": 0}, "fitted.generated.persons"),
        ({"temperature": 0.0}, "fitted.generated.temperature"),
        ({"write": "no excerpt here"}, "fitted.generated.write"),
        ({"refine": "{description} only"}, "fitted.generated.refine"),
        ({"error": "{context}"}, "fitted.generated.error"),
    ],
)
def test_bad_settings_name_their_field(change: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        check_generated(replace(make_config([]).fitted.generated, **change))


def test_nan_first_k_scores_never_win() -> None:
    assert worst([math.nan, math.nan], k=2, batch=1) == []

"""Extraction, judging and their store: the mechanism of C7 with the simulated engine
(which echoes what it is asked to write and follows its judging truth)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from study.data.loader import SHIPPED_DATA, iter_participants
from study.engines.config import ModelConfig, SimulatedEngineConfig
from study.engines.simulated import build
from study.errors import StudyInputError
from study.respond.runner import RequestRunner
from study.stakeholders.config import StakeholdersConfig, StandIn
from study.stakeholders.documents import (
    Document,
    evidence,
    experiment_documents,
    folder_documents,
    joined,
)
from study.stakeholders.extract import Persona, extract_personas, name_key
from study.stakeholders.judge import items_of, judge_items, judging_prompt, panel_notes
from study.store import ResponseStore
from tests.pipeline.conftest import make_config

THOMA = SHIPPED_DATA / "thoma2025riskychoice"


@pytest.fixture(scope="module")
def settings() -> StakeholdersConfig:
    """The shipped configuration (prompts, stand-ins), small."""
    cfg = make_config(["experiment=stakeholders"]).stakeholders
    return replace(cfg, count=2, choices=3, rounds=1)


def simulated(**truth: float):
    return build(SimulatedEngineConfig(**truth), ModelConfig(name="simulated"))  # type: ignore[arg-type]


def people(n: int):
    return list(iter_participants(THOMA, limit=n))


def test_default_documents_are_readme_card_and_instructions() -> None:
    person = people(1)[0]
    documents = experiment_documents(person, None)
    assert [d.name for d in documents] == [
        "README.md",
        "thoma2025riskychoice.md",
        "task instructions",
    ]
    card = documents[1].text
    assert "## Citation" in card and "## Counts" not in card and "## Source" not in card
    assert documents[2].text == person.transcript[: person.choices[0].marker_start].strip()


def test_a_folder_without_documents_is_named(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("x\n")
    with pytest.raises(StudyInputError, match=str(tmp_path)):
        folder_documents(tmp_path)
    (tmp_path / "b.txt").write_text("second")
    (tmp_path / "a.md").write_text("first")
    assert [d.name for d in folder_documents(tmp_path)] == ["a.md", "b.txt"]


def test_evidence_keeps_a_real_quote_and_marks_a_made_up_one() -> None:
    text = joined([Document("card.md", "Children chose between two lotteries for sweets.")], 500)
    assert evidence("chose between two lotteries", "", text).kind == "quoted"
    made_up = evidence("adults bet on horses every day", "lotteries", text)
    assert made_up.kind == "matched"
    assert made_up.passage == "Children chose between two lotteries for sweets."


def test_extraction_writes_distinct_personas_and_generic_ones_of_the_same_count(
    tmp_path: Path, settings: StakeholdersConfig
) -> None:
    documents = {"thoma2025riskychoice": "The task. Children chose between two lotteries."}
    with ResponseStore(tmp_path / "store") as store:
        runner = RequestRunner(simulated(), store, fresh=False)
        first = extract_personas(runner, documents, settings, seed=0)
        computed = runner.computed
        again = extract_personas(
            RequestRunner(simulated(), store, False), documents, settings, seed=0
        )
    by_source = {s: [p for p in first.personas if p.source == s] for s in ("documents", "generic")}
    assert len(by_source["documents"]) == len(by_source["generic"]) == 2
    for panel in by_source.values():
        assert len({name_key(p.name) for p in panel}) == len(panel)
    assert all(p.evidence_kind == "quoted" and p.evidence for p in by_source["documents"])
    assert all(p.evidence == "" for p in by_source["generic"])
    # Four fields per document persona, three per generic one, at least.
    assert computed >= 2 * 4 + 2 * 3
    assert again.personas == first.personas and again.computed == 0 and again.reused >= computed


def test_a_name_that_keeps_repeating_leaves_the_panel_one_short(
    tmp_path: Path, settings: StakeholdersConfig
) -> None:
    # One stand-in: every later persona repeats the first name, in every attempt.
    lone = replace(settings, count=2, max_attempts=2, standins=[StandIn("Judge", "I judge.", "x")])
    with ResponseStore(tmp_path / "store") as store:
        runner = RequestRunner(simulated(mu=50.0), store, fresh=False)
        outcome = extract_personas(runner, {"e": "Some text about the task here."}, lone, seed=0)
    assert [p.name for p in outcome.personas if p.source == "documents"] == ["Judge"]
    assert any("a repeated or empty name in all 2 attempts" in n for n in outcome.notes)


def _personas() -> list[Persona]:
    return [
        Persona("thoma2025riskychoice", "documents", 1, "Economist", "I weigh payoffs.", "risk"),
        Persona("thoma2025riskychoice", "documents", 2, "Teacher", "I watch children.", "care"),
        Persona("thoma2025riskychoice", "generic", 1, "Critic", "I doubt.", "rigour"),
        Persona("thoma2025riskychoice", "generic", 2, "Fan", "I cheer.", "fun"),
    ]


def test_judging_has_every_judge_round_and_item(
    tmp_path: Path, settings: StakeholdersConfig
) -> None:
    sessions = people(4)
    items, _notes = items_of([[s] for s in sessions], settings)
    judged_persons = {(i.experiment, i.participant) for i in items}
    assert len(items) == 3 * len(judged_persons)
    assert all(i.human in i.options for i in items)
    with ResponseStore(tmp_path / "store") as store:
        engine = simulated(judge_documents_gain=1.0)
        frame = judge_items(RequestRunner(engine, store, False), items, _personas(), settings, "m")
    # 4 panelists in rounds 0 and 1, the plain judge in round 0 only.
    assert frame.height == len(items) * (4 * 2 + 1)
    assert frame.filter(pl.col("source") == "none")["round"].unique().to_list() == [0]
    # Each row is the engine's judging truth for its tags; logp and logodds follow.
    for row in frame.sample(10, seed=0).iter_rows(named=True):
        effects = engine.judge_effects(row["item"], row["source"], row["persona"], row["round"])
        assert math.isclose(row["logodds"], effects.logit, rel_tol=1e-9, abs_tol=1e-9)
        assert math.isclose(row["logp"], math.log(row["p_human"]))


def test_debate_shows_the_other_panelists_judgements(settings: StakeholdersConfig) -> None:
    items, _ = items_of([[people(1)[0]]], settings)
    economist, teacher = _personas()[:2]
    from study.stakeholders.judge import Judge

    judge, other = Judge("documents", economist), Judge("documents", teacher)
    alone, span = judging_prompt(judge, items[0], 0, [], settings)
    debated, _ = judging_prompt(judge, items[0], 1, [(other, {"O": 0.25, "Q": 0.75})], settings)
    assert alone.startswith("You are Economist.")
    assert "Moderator" not in alone
    assert "- Teacher: O 25%, Q 75%" in debated and "Economist:" not in debated.split("You are")[1]
    assert alone[span[0] : span[1]] == items[0].human
    assert debated.endswith(alone.split("\n\n", 1)[1])


class _Killed(RuntimeError):
    pass


class _DiesAfter:
    """A simulated engine that is killed after ``n`` score results."""

    def __init__(self, engine, n: int) -> None:
        self.engine, self.left = engine, n

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def score(self, requests):
        for result in self.engine.score(requests):
            if self.left == 0:
                raise _Killed
            self.left -= 1
            yield result


def test_a_killed_judging_run_resumes_where_it_stopped(
    tmp_path: Path, settings: StakeholdersConfig
) -> None:
    items, _ = items_of([[s] for s in people(3)], settings)
    with ResponseStore(tmp_path / "whole") as store:
        runner = RequestRunner(simulated(), store, False)
        whole = judge_items(runner, items, _personas(), settings, "m")
        total = runner.computed
    with ResponseStore(tmp_path / "killed") as store, pytest.raises(_Killed):
        judge_items(
            RequestRunner(_DiesAfter(simulated(), 7), store, False),
            items,
            _personas(),
            settings,
            "m",
        )
    with ResponseStore(tmp_path / "killed") as store:
        runner = RequestRunner(simulated(), store, False)
        resumed = judge_items(runner, items, _personas(), settings, "m")
    assert runner.computed == total - 7
    assert resumed.equals(whole)


def test_a_lone_panelist_is_noted_when_there_is_a_debate() -> None:
    lone = _personas()[:3]  # two documents personas, one generic
    assert panel_notes(lone, rounds=1) == [
        "generic panel of thoma2025riskychoice: one persona, so its debate rounds repeat round 0"
    ]
    assert panel_notes(lone, rounds=0) == []

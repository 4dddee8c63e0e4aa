"""Stakeholder personas judging the human's responses, independently and in debate
(STUDY.md, "C7").

An item is one choice point of a person (``stakeholders.choices`` per person, spread
evenly over their choices in order). A judge reads its persona (none for the plain
judge), in debate rounds a moderator's turn with the other panelists' judgements of the
round before, the task and the last ``context_chars`` characters of the transcript
before the response; the response follows between ``<<`` and ``>>`` and is scored over
the item's options (score mode), so a judgement is the probability the judge gives each
option, and its alignment with the human is the log-probability of the option the human
actually gave. Round 0 is independent; in rounds 1..``rounds`` each panel (documents,
generic) debates within itself. The plain judge has no panel and judges in round 0 only.

Every judgement is one stored score request, tagged ``judge`` with its item, source,
persona and round (the simulated engine's truth for judging reads these tags,
study.engines.simulated_judge); a killed run keeps every finished judgement, and a round
needs only the rounds before it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from study.data import options_for
from study.engines.base import ScoreRequest, ScoreResult
from study.fitted.generated_prompts import CLOSE, OPEN, Position, fill, positions, tail
from study.respond.plan import Job
from study.respond.runner import RequestRunner
from study.stakeholders.config import StakeholdersConfig
from study.stakeholders.extract import Persona
from study.store import request_key

NONE = "none"
# Probabilities are clipped here before the log-odds: an option of probability 0 or 1
# would put an infinity into a Gaussian fit.
CLIP = 1e-6
SCHEMA = {
    "model": pl.String,
    "experiment": pl.String,
    "participant": pl.String,
    "session": pl.Int64,
    "choice": pl.Int64,
    "item": pl.String,
    "source": pl.String,
    "persona": pl.String,
    "name": pl.String,
    "round": pl.Int64,
    "human": pl.String,
    "n_options": pl.Int64,
    "p_human": pl.Float64,
    "logp": pl.Float64,
    "logodds": pl.Float64,
}


@dataclass(frozen=True)
class Item:
    position: Position
    options: tuple[str, ...]
    context: str

    @property
    def experiment(self) -> str:
        return self.position.session.experiment

    @property
    def participant(self) -> str:
        return self.position.session.participant

    @property
    def session(self) -> int:
        return self.position.session.session

    @property
    def choice(self) -> int:
        return self.position.choice.index

    @property
    def human(self) -> str:
        return self.position.choice.response

    @property
    def key(self) -> str:
        return f"{self.experiment}/{self.participant}/{self.session}/{self.choice}"


@dataclass(frozen=True)
class Judge:
    """A persona of a source, or the plain judge (``persona`` None)."""

    source: str
    persona: Persona | None

    @property
    def id(self) -> str:
        return NONE if self.persona is None else self.persona.id

    @property
    def name(self) -> str:
        return "judge without a persona" if self.persona is None else self.persona.name


@dataclass(frozen=True, slots=True)
class JudgingPrompt:
    """Whose judgement of which item a request is (the store's and progress view)."""

    experiment: str
    participant: str
    session: int
    item: str
    judge: str
    round: int


def spread(n: int, k: int) -> list[int]:
    """``k`` indices spread evenly over ``range(n)``, first and last included.

    >>> spread(9, 4), spread(3, 5), spread(10, 1)
    ([0, 3, 5, 8], [0, 1, 2], [9])
    """
    if k >= n:
        return list(range(n))
    if k == 1:
        return [n - 1]
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


def items_of(sessions_by_person: Sequence[Sequence], cfg: StakeholdersConfig):
    """The judged items of each person's sessions, and notes on choice points that
    cannot be judged (no option set, or the human's response outside it)."""
    items: list[Item] = []
    notes: list[str] = []
    for sessions in sessions_by_person:
        order = positions(sessions)
        for index in spread(len(order), cfg.choices):
            position = order[index]
            options = options_for(position.session)
            person = f"{position.session.experiment}/{position.session.participant}"
            if options is None or len(options) < 2:
                notes.append(f"{person}: no option set of two or more; not judged")
                break
            if position.choice.response not in options:
                notes.append(
                    f"{person} choice {position.choice.index}: the response "
                    f"{position.choice.response!r} is not among the options; not judged"
                )
                continue
            context = position.session.transcript[: position.choice.marker_start]
            items.append(Item(position, options, tail(context, cfg.context_chars)))
    return items, notes


def _probabilities(judgement: dict[str, float]) -> str:
    return ", ".join(f"{option} {100 * p:.0f}%" for option, p in judgement.items())


def judging_prompt(
    judge: Judge,
    item: Item,
    round_: int,
    others: Sequence[tuple[Judge, dict[str, float]]],
    cfg: StakeholdersConfig,
) -> tuple[str, tuple[int, int]]:
    """The judging prompt of ``judge`` on ``item`` in ``round_`` (``others``: the other
    panelists with their judgements of the round before) and the response's span."""
    prompts = cfg.prompts
    text = ""
    if judge.persona is not None:
        persona = judge.persona
        text += fill(
            prompts.persona,
            {
                "name": persona.name,
                "perspective": persona.perspective,
                "dimension": persona.dimension,
            },
        )
    if round_ > 0 and others:
        lines = "\n".join(
            fill(prompts.judgement, {"name": other.name, "probabilities": _probabilities(j)})
            for other, j in others
        )
        text += fill(prompts.moderator, {"round": str(round_), "judgements": lines})
    text += fill(prompts.judge, {"context": item.context}) + OPEN
    start = len(text)
    return text + item.human + CLOSE, (start, start + len(item.human))


def _job(judge: Judge, item: Item, round_: int, others, cfg, fingerprint) -> Job[JudgingPrompt]:
    prompt, span = judging_prompt(judge, item, round_, others, cfg)
    request = ScoreRequest(
        prompt=prompt,
        spans=(span,),
        options=(item.options,),
        tags=(
            ("judge", "1"),
            ("experiment", item.experiment),
            ("participant", item.participant),
            ("session", str(item.session)),
            ("item", item.key),
            ("source", judge.source),
            ("persona", judge.id),
            ("round", str(round_)),
        ),
    )
    who = JudgingPrompt(item.experiment, item.participant, item.session, item.key, judge.id, round_)
    return Job(who, "score", request, request_key(fingerprint, "score", request))


def panels_of(personas: Sequence[Persona]) -> dict[tuple[str, str], list[Judge]]:
    """(experiment, source) -> its judges; every experiment gets the plain judge."""
    panels: dict[tuple[str, str], list[Judge]] = {}
    for persona in personas:
        panels.setdefault((persona.experiment, persona.source), []).append(
            Judge(persona.source, persona)
        )
    for experiment in {p.experiment for p in personas}:
        panels[(experiment, NONE)] = [Judge(NONE, None)]
    return panels


def panel_notes(personas: Sequence[Persona], rounds: int) -> list[str]:
    """Panels whose debate rounds can only repeat round 0: a lone persona hears no one."""
    if rounds == 0:
        return []
    return [
        f"{source} panel of {experiment}: one persona, so its debate rounds repeat round 0"
        for (experiment, source), judges in sorted(panels_of(personas).items())
        if source != NONE and len(judges) == 1
    ]


def judge_items(
    runner: RequestRunner,
    items: Sequence[Item],
    personas: Sequence[Persona],
    cfg: StakeholdersConfig,
    model: str,
) -> pl.DataFrame:
    """Every judge's judgement of every item of its experiment, round by round (see the
    module doc), as the judgements frame (``SCHEMA``: one row per judge, item, round)."""
    panels = panels_of(personas)
    latest: dict[tuple[str, str], dict[str, float]] = {}  # (judge, item) -> last round's
    rows: list[dict] = []
    for round_ in range(cfg.rounds + 1):
        jobs = []
        for item in items:
            for (experiment, source), judges in panels.items():
                if experiment != item.experiment or (round_ > 0 and source == NONE):
                    continue
                for judge in judges:
                    others = [
                        (o, latest[(o.id, item.key)])
                        for o in judges
                        if round_ > 0 and o.id != judge.id
                    ]
                    jobs.append(
                        (judge, item, _job(judge, item, round_, others, cfg, runner.fingerprint))
                    )
        results = runner.run([job for _, _, job in jobs], "score")
        for judge, item, job in jobs:
            result = results[job.key]
            assert isinstance(result, ScoreResult) and result.option_probs is not None
            judgement = dict(result.option_probs[0])
            latest[(judge.id, item.key)] = judgement
            rows.append(_row(model, judge, item, round_, judgement))
    return pl.DataFrame(rows, schema=SCHEMA)


def _row(model: str, judge: Judge, item: Item, round_: int, judgement: dict[str, float]) -> dict:
    p = judgement.get(item.human, 0.0)
    clipped = min(max(p, CLIP), 1.0 - CLIP)
    return {
        "model": model,
        "experiment": item.experiment,
        "participant": item.participant,
        "session": item.session,
        "choice": item.choice,
        "item": item.key,
        "source": judge.source,
        "persona": judge.id,
        "name": judge.name,
        "round": round_,
        "human": item.human,
        "n_options": len(item.options),
        "p_human": p,
        "logp": math.log(clipped),
        "logodds": math.log(clipped) - math.log1p(-clipped),
    }

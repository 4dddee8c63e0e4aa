"""Generated personas: the PersonaAgent loop (STUDY.md, "C5: personas fitted at test
time").

Per person (experiment, participant; sessions in order), batched across persons, round
by round:

- round 0: the model writes a short first-person description from the person's first K
  choices (``fitted.generated.write``);
- round r >= 1: the current description (the latest non-empty one) is refined given the
  ``batch`` first-K choices it predicted worst, highest NLL first, each shown as the
  tail of its context and the human's actual response (``refine``, ``error``); a person
  without a description yet is written afresh instead.

Every non-empty description is scored as a preamble (``fitted.template``, as the
library's candidates are) over the person's whole transcripts: a causal model's NLL at
a choice depends only on what precedes it, so the first-K NLLs of that one pass are the
fitting criterion and the rest stay unseen until the held-out comparison. Each person
keeps the description with the lowest mean first-K NLL over the rounds (ties to the
earlier round), so refining never makes the fitting data worse. Its held-out NLLs are
``generated_own``; ``generated_other``, the placebo, is the kept description of a donor,
another person of the experiment drawn by a seeded derangement over the persons (as
``fitted_other``'s, study.fitted.selection: a donor's text is never required to differ,
which would bias the placebo whenever some texts fit everyone better), scored on the
person's transcripts.

Every request goes through the response store (study.store) as the respond stage's do,
keyed by its content (prompt, seed, engine fingerprint): a killed run keeps what
finished, and a rerun computes only what the store lacks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from study.engines.base import Engine, SampleResult, ScoreResult
from study.fitted.config import FittedConfig, check_generated
from study.fitted.generated_prompts import (
    GenerationPrompt,
    Position,
    clean,
    error_lines,
    excerpt,
    fill,
    generation_request,
    generation_seed,
    positions,
)
from study.personas import assign_donors, render
from study.personas.conditions import PersonaCondition
from study.personas.config import PersonaTextsConfig, PreambleConfig
from study.records import Participant
from study.respond.config import SamplingConfig
from study.respond.plan import Job, model_identity, plan_jobs
from study.respond.runner import RequestRunner
from study.store import ResponseStore, request_key

Person = tuple[str, str]
ROWS_SCHEMA = {
    "experiment": pl.String,
    "participant": pl.String,
    "round": pl.Int64,
    "text": pl.String,
    "nll_first_k": pl.Float64,
    "kept": pl.Boolean,
}
# One NLL per (person, session, choice) under a condition: the held-out rows of every
# condition (study.fitted.heldout) have this shape.
SCORES_SCHEMA = {
    "experiment": pl.String,
    "participant": pl.String,
    "session": pl.Int64,
    "choice": pl.Int64,
    "persona": pl.String,
    "nll": pl.Float64,
}


@dataclass
class GeneratedOutcome:
    # Per person and round: the generated text ("" when the model wrote nothing), its
    # mean first-K NLL (null for an empty text) and whether it is the person's kept one.
    rows: pl.DataFrame
    # Per choice of every transcript of each person with a kept description:
    # generated_own and (with a donor) generated_other NLLs.
    scores: pl.DataFrame
    # Per person with a donor: whose kept description is their generated_other.
    placebo: pl.DataFrame
    notes: list[str] = field(default_factory=list)
    computed: int = 0
    reused: int = 0


@dataclass
class _State:
    sessions: list[Participant]
    k: int
    order: list[Position]
    current: str = ""
    # Per position (over the whole transcripts): the current description's NLLs.
    current_nll: list[float] = field(default_factory=list)
    # Per scored text: its NLL per position.
    scored: dict[str, list[float]] = field(default_factory=dict)


def _name(text: str) -> str:
    return "generated-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def _score_jobs(
    runner: RequestRunner,
    wanted: Sequence[tuple[_State, str]],
    cfg: FittedConfig,
    preamble: PreambleConfig,
    seed: int,
) -> dict[tuple[int, str], list[Job]]:
    """Score jobs, per (state id, text): the text as a preamble over every session."""
    out: dict[tuple[int, str], list[Job]] = {}
    for state, text in wanted:
        name = _name(text)
        texts = PersonaTextsConfig(archetypes={name: cfg.template.replace("{sentences}", text)})
        condition = PersonaCondition("archetype", name)
        prompts = [render(s, condition, texts, preamble) for s in state.sessions]
        jobs, _ = plan_jobs(
            prompts, lambda _: None, runner.fingerprint, 0, SamplingConfig(), seed=seed
        )
        out[(id(state), text)] = jobs
    return out


def _score(
    runner: RequestRunner,
    wanted: Sequence[tuple[_State, str]],
    cfg: FittedConfig,
    preamble: PreambleConfig,
    seed: int,
) -> dict[tuple[int, str], list[float]]:
    """Per (state id, text): the NLL at each of the person's positions (NaN where the
    prompt was cut before it)."""
    by_text = _score_jobs(runner, wanted, cfg, preamble, seed)
    results = runner.run([job for jobs in by_text.values() for job in jobs], "score")
    nlls: dict[tuple[int, str], list[float]] = {}
    for (state_id, text), jobs in by_text.items():
        state = next(s for s, t in wanted if id(s) == state_id and t == text)
        per_session: dict[int, tuple[float, ...]] = {}
        for job in jobs:
            result = results[job.key]
            assert isinstance(result, ScoreResult)
            per_session[job.rendered.session] = result.nll
        values = []
        for position in state.order:
            row = per_session[position.session.session]
            index = position.choice.index
            values.append(row[index] if index < len(row) else float("nan"))
        nlls[(state_id, text)] = values
    return nlls


def _first_k_mean(values: Sequence[float], k: int) -> float:
    head = [v for v in values[:k] if v == v]
    return sum(head) / len(head) if head else float("nan")


def worst(nll: Sequence[float], k: int, batch: int) -> list[int]:
    """The positions of the ``batch`` first-K choices predicted worst (highest NLL
    first, ties to the earlier choice; a choice the prompt lost, NaN, is skipped).

    >>> worst([0.1, 2.0, 0.5, 2.0, 9.0], k=4, batch=2)
    [1, 3]
    >>> worst([0.1, float("nan"), 0.5], k=3, batch=5)
    [2, 0]
    """
    head = [(v, i) for i, v in enumerate(nll[:k]) if v == v]
    return [i for _, i in sorted(head, key=lambda pair: (-pair[0], pair[1]))[:batch]]


def _generation_jobs(
    runner: RequestRunner,
    states: Mapping[Person, _State],
    round_: int,
    cfg: FittedConfig,
    seed: int,
) -> dict[Person, Job]:
    settings = cfg.generated
    model = model_identity(runner.fingerprint)
    # The simulated engine's stand-in texts: the library's sentences (real engines
    # ignore options when they sample).
    sentences = tuple(s.strip() for levels in cfg.dimensions.values() for s in levels.values())
    jobs = {}
    for (experiment, participant), state in states.items():
        shown = excerpt(state.sessions, state.k, settings.excerpt_chars)
        if state.current:
            kind = "refine"
            chosen = worst(state.current_nll, state.k, settings.batch)
            errors = error_lines(
                [state.order[i] for i in chosen], settings.error, settings.context_chars
            )
            text = fill(
                settings.refine,
                {"excerpt": shown, "description": state.current, "errors": errors},
            )
        else:
            kind, text = "write", fill(settings.write, {"excerpt": shown})
        who = GenerationPrompt(experiment, participant, round_, kind)
        # The span's text is never read by an engine that generates (it samples after
        # the ``<<``); the simulated engine echoes it, so it is that engine's stand-in
        # for writing: a library sentence drawn by the request's seed (a write), or the
        # current description with one more such sentence (a refinement).
        request_seed = generation_seed(model, experiment, participant, round_, seed)
        drawn = sentences[request_seed % len(sentences)]
        placeholder = f"{state.current} {drawn}" if state.current else drawn
        request = generation_request(
            text,
            placeholder,
            seed=request_seed,
            cfg=settings,
            who=who,
            options=tuple(s for s in sentences if s != placeholder),
        )
        key = request_key(runner.fingerprint, "sample", request)
        jobs[(experiment, participant)] = Job(who, "sample", request, key, round_, request.seed)
    return jobs


def generate_personas(
    engine: Engine,
    store: ResponseStore,
    people: Sequence[Participant],
    first_k: Mapping[Person, int],
    cfg: FittedConfig,
    preamble: PreambleConfig,
    *,
    seed: int,
    fresh: bool = False,
) -> GeneratedOutcome:
    """The loop of the module doc for the persons of ``people`` (all their sessions);
    ``first_k``: per person how many of their first choices fit."""
    settings = cfg.generated
    check_generated(settings)
    runner = RequestRunner(engine, store, fresh)
    states: dict[Person, _State] = {}
    for session in people:
        states.setdefault(session.person, _State([], first_k[session.person], []))
        states[session.person].sessions.append(session)
    for state in states.values():
        state.order = positions(state.sessions)
    rows: list[dict] = []
    for round_ in range(settings.rounds + 1):
        jobs = _generation_jobs(runner, states, round_, cfg, seed)
        results = runner.run(list(jobs.values()), "sample")
        texts = {}
        for person, job in jobs.items():
            result = results[job.key]
            assert isinstance(result, SampleResult)
            texts[person] = clean(result.responses[0])
        wanted = [(states[p], t) for p, t in texts.items() if t and t not in states[p].scored]
        for (state_id, text), values in _score(runner, wanted, cfg, preamble, seed).items():
            next(s for s in states.values() if id(s) == state_id).scored[text] = values
        for person, text in texts.items():
            state = states[person]
            mean = _first_k_mean(state.scored[text], state.k) if text else None
            rows.append(
                {
                    "experiment": person[0],
                    "participant": person[1],
                    "round": round_,
                    "text": text,
                    "nll_first_k": mean,
                    "kept": False,
                }
            )
            if text:
                state.current, state.current_nll = text, state.scored[text]
    kept = _keep(rows)
    notes = [
        f"generated: {e}/{p} has no description (the model wrote nothing in every round)"
        for e, p in states
        if (e, p) not in kept
    ]
    score_rows, donor_of, undonored = _final_scores(runner, states, kept, cfg, preamble, seed)
    notes += [
        f"generated_other: {e}/{p} has no donor (alone in the experiment)" for e, p in undonored
    ]
    return GeneratedOutcome(
        rows=pl.DataFrame(rows, schema=ROWS_SCHEMA),
        scores=pl.DataFrame(score_rows, schema=SCORES_SCHEMA),
        placebo=pl.DataFrame(
            [
                {"experiment": e, "participant": p, "donor": donor}
                for (e, p), donor in donor_of.items()
            ],
            schema={"experiment": pl.String, "participant": pl.String, "donor": pl.String},
        ),
        notes=notes,
        computed=runner.computed,
        reused=runner.total - runner.computed,
    )


def _keep(rows: list[dict]) -> dict[Person, str]:
    """Per person, the text with the lowest mean first-K NLL (ties to the earlier
    round); marks it ``kept`` in ``rows``."""
    best: dict[Person, dict] = {}
    for row in rows:
        nll = row["nll_first_k"]
        if not row["text"] or nll is None or nll != nll:
            continue
        person = (row["experiment"], row["participant"])
        if person not in best or nll < best[person]["nll_first_k"]:
            best[person] = row
    for row in best.values():
        row["kept"] = True
    return {person: row["text"] for person, row in best.items()}


def _final_scores(
    runner: RequestRunner,
    states: Mapping[Person, _State],
    kept: Mapping[Person, str],
    cfg: FittedConfig,
    preamble: PreambleConfig,
    seed: int,
) -> tuple[list[dict], dict[Person, str], tuple[Person, ...]]:
    """generated_own and generated_other NLLs per position, each person's donor (their
    participant id: donors share the experiment) and the persons without one."""
    stand_ins = [Participant(e, p, "") for e, p in kept]
    # A derangement over persons: each person's "text" is the person.
    donors = assign_donors(stand_ins, seed, lambda row: f"{row.experiment}\x1f{row.participant}")
    other, donor_of = {}, {}
    for row in stand_ins:
        donor = donors.of(row)
        if donor is not None:
            other[row.person] = kept[donor.person]
            donor_of[row.person] = donor.participant
    wanted = [(states[p], t) for p, t in other.items() if t not in states[p].scored]
    for (state_id, text), values in _score(runner, wanted, cfg, preamble, seed).items():
        next(s for s in states.values() if id(s) == state_id).scored[text] = values
    rows = []
    for condition, chosen in (("generated_own", kept), ("generated_other", other)):
        for person, text in chosen.items():
            state = states[person]
            for position, nll in zip(state.order, state.scored[text], strict=True):
                if nll != nll:
                    continue
                rows.append(
                    {
                        "experiment": person[0],
                        "participant": person[1],
                        "session": position.session.session,
                        "choice": position.choice.index,
                        "persona": condition,
                        "nll": nll,
                    }
                )
    return rows, donor_of, donors.undonored

"""Stakeholder personas written by a generating engine (STUDY.md, "C7").

Per experiment two panels are written, each of ``stakeholders.count`` personas:
``documents`` (the model reads the experiment's documents, study.stakeholders.documents)
and ``generic`` (the same prompts without the documents). A persona is written field by
field, each field a sampled span after the ones before it (``Name: <<...>>``, then
``Perspective: <<...>>``, the evaluation dimension and, for ``documents``, a supporting
passage quoted from the documents), so that any engine that samples can write it and
every field is one stored request: a killed run keeps what finished. The stakeholders
already written are listed in the prompt, so the next one is asked to be another.

A persona whose name repeats an earlier one of its panel (compared without case and
punctuation) or with an empty field is written again with the next attempt's seed, up
to ``max_attempts``; after that the panel has one persona fewer, which the notes say.
The generic panel is cut to the documents panel's size, so both sources have the same
count per experiment.

The simulated engine echoes the span's placeholder: a stand-in of the config (or, for
the evidence, a passage of the documents), or, on a simulated miss, another stand-in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from study.engines.base import SampleRequest, SampleResult
from study.engines.seeds import run_seed
from study.fitted.generated_prompts import CLOSE, OPEN, clean, fill
from study.respond.plan import Job, model_identity
from study.respond.runner import RequestRunner
from study.stakeholders.config import FIELDS, PANEL_SOURCES, StakeholdersConfig, StandIn
from study.stakeholders.documents import evidence, passages
from study.store import request_key

# The persona tag of extraction requests (seeds, store provenance).
EXTRACT = "extract"
# A name longer than this is cut at a word: a small model may run on.
MAX_NAME_CHARS = 60


@dataclass(frozen=True)
class Persona:
    """One extracted (or generic) stakeholder."""

    experiment: str
    source: str
    number: int
    name: str
    perspective: str
    dimension: str
    # The supporting passage and how it was found (study.stakeholders.documents.Evidence);
    # what the model wrote as its quote. Empty for generic personas.
    evidence: str = ""
    evidence_kind: str = ""
    quote: str = ""
    attempt: int = 0

    @property
    def id(self) -> str:
        return f"{self.source}:{self.experiment}:{self.name}"


@dataclass(frozen=True, slots=True)
class ExtractionPrompt:
    """Which field of which persona a request writes (the store's and progress view)."""

    experiment: str
    source: str
    number: int
    attempt: int
    field: str
    participant: str = "stakeholders"
    session: int = 0


@dataclass
class _Panel:
    experiment: str
    source: str
    documents: str
    number: int = 1
    attempt: int = 0
    values: dict[str, str] = field(default_factory=dict)
    personas: list[Persona] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    done: bool = False

    def fields(self) -> tuple[str, ...]:
        return FIELDS if self.source == "documents" else FIELDS[:-1]


def name_key(name: str) -> str:
    """What makes two names the same stakeholder.

    >>> name_key("The Clinician.") == name_key("the  clinician")
    True
    """
    words = re.findall(r"[a-z0-9]+", name.lower())
    return " ".join(w for w in words if w not in {"the", "a", "an"})


def _short(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: cut.rfind(" ")] if " " in cut else cut


def prompt_text(panel: _Panel, cfg: StakeholdersConfig, wanted: str) -> str:
    """The text before the span of ``wanted``: the header, the stakeholders so far,
    the entry and the fields written before ``wanted``."""
    prompts = cfg.prompts
    if panel.source == "documents":
        text = fill(prompts.documents_header, {"documents": panel.documents})
    else:
        text = prompts.generic_header
    for persona in panel.personas:
        text += fill(
            prompts.listed,
            {
                "number": str(persona.number),
                "name": persona.name,
                "perspective": persona.perspective,
                "dimension": persona.dimension,
            },
        )
    text += fill(prompts.entry, {"number": str(len(panel.personas) + 1)})
    for name in panel.fields():
        text += prompts.labels[name]
        if name == wanted:
            return text
        text += panel.values[name]
    raise ValueError(f"unknown field {wanted!r}")


def _placeholder(
    panel: _Panel, cfg: StakeholdersConfig, wanted: str, seed: int
) -> tuple[str, tuple[str, ...]]:
    """The simulated engine's stand-in for ``wanted`` and the alternatives it may give
    instead (real engines ignore both)."""
    if wanted == "evidence":
        found = passages(panel.documents) or ["(no passage)"]
        return found[seed % len(found)], ()
    standins: Sequence[StandIn] = cfg.standins
    if panel.source == "generic":
        standins = list(reversed(standins))
    index = (panel.number - 1 + panel.attempt) % len(standins)
    chosen = getattr(standins[index], wanted)
    others = tuple(getattr(s, wanted) for s in standins if getattr(s, wanted) != chosen)
    return chosen, others


def _job(
    panel: _Panel, cfg: StakeholdersConfig, wanted: str, model: str, fingerprint, seed: int
) -> Job[ExtractionPrompt]:
    text = prompt_text(panel, cfg, wanted)
    request_seed = run_seed(
        model,
        panel.experiment,
        EXTRACT,
        f"{panel.source}:{wanted}",
        panel.number * 1000 + panel.attempt,
        config_seed=seed,
    )
    placeholder, others = _placeholder(panel, cfg, wanted, request_seed)
    prompt = text + OPEN + placeholder + CLOSE
    start = len(text) + len(OPEN)
    request = SampleRequest(
        prompt=prompt,
        spans=((start, start + len(placeholder)),),
        seed=request_seed,
        max_tokens=cfg.max_tokens,
        temperature=cfg.temperature,
        options=((placeholder, *others),) if others else None,
        tags=(
            ("experiment", panel.experiment),
            ("participant", EXTRACT),
            ("session", "0"),
            ("persona", f"{EXTRACT}:{panel.source}"),
            ("field", wanted),
            ("number", str(panel.number)),
            ("attempt", str(panel.attempt)),
        ),
    )
    who = ExtractionPrompt(panel.experiment, panel.source, panel.number, panel.attempt, wanted)
    key = request_key(fingerprint, "sample", request)
    return Job(who, "sample", request, key, panel.attempt, request.seed)


def _advance(panel: _Panel, wanted: str, value: str, cfg: StakeholdersConfig) -> None:
    """Record ``value`` for ``wanted``; close the persona (or start its next attempt)
    when the field was its last or cannot stand."""
    if wanted == "name":
        value = _short(value.rstrip(".:;,"), MAX_NAME_CHARS)
    keys = {name_key(p.name) for p in panel.personas}
    bad = not value or (wanted == "name" and (not name_key(value) or name_key(value) in keys))
    if bad:
        panel.values = {}
        panel.attempt += 1
        if panel.attempt >= cfg.max_attempts:
            what = "a repeated or empty name" if wanted == "name" else f"an empty {wanted}"
            panel.notes.append(
                f"{panel.source} persona {panel.number} of {panel.experiment}: "
                f"{what} in all {cfg.max_attempts} attempts; the panel has one fewer"
            )
            _next_persona(panel, cfg)
        return
    panel.values[wanted] = value
    if wanted != panel.fields()[-1]:
        return
    found = None
    if panel.source == "documents":
        about = " ".join(panel.values[f] for f in ("name", "perspective", "dimension"))
        found = evidence(panel.values["evidence"], about, panel.documents)
    panel.personas.append(
        Persona(
            experiment=panel.experiment,
            source=panel.source,
            number=len(panel.personas) + 1,
            name=panel.values["name"],
            perspective=panel.values["perspective"],
            dimension=panel.values["dimension"],
            evidence=found.passage if found else "",
            evidence_kind=found.kind if found else "",
            quote=panel.values.get("evidence", ""),
            attempt=panel.attempt,
        )
    )
    _next_persona(panel, cfg)


def _next_persona(panel: _Panel, cfg: StakeholdersConfig) -> None:
    panel.values, panel.attempt = {}, 0
    panel.number += 1
    panel.done = panel.number > cfg.count


@dataclass
class Extraction:
    personas: list[Persona]
    notes: list[str]
    computed: int
    reused: int


def extract_personas(
    runner: RequestRunner,
    documents: Mapping[str, str],
    cfg: StakeholdersConfig,
    *,
    seed: int,
) -> Extraction:
    """Both panels of every experiment of ``documents`` (experiment -> the documents'
    text as the model reads it), written as the module doc says; all panels advance
    together, one field per engine call."""
    model = model_identity(runner.fingerprint)
    panels = [
        _Panel(experiment, source, text)
        for experiment, text in documents.items()
        for source in PANEL_SOURCES
    ]
    while active := [p for p in panels if not p.done]:
        jobs = []
        for panel in active:
            wanted = next(f for f in panel.fields() if f not in panel.values)
            jobs.append((panel, wanted, _job(panel, cfg, wanted, model, runner.fingerprint, seed)))
        results = runner.run([job for _, _, job in jobs], "sample")
        for panel, wanted, job in jobs:
            result = results[job.key]
            assert isinstance(result, SampleResult)
            _advance(panel, wanted, clean(result.responses[0]), cfg)
    personas, notes = [], []
    for experiment in documents:
        own = {p.source: p for p in panels if p.experiment == experiment}
        kept = len(own["documents"].personas)
        generic = own["generic"].personas
        notes += own["documents"].notes + own["generic"].notes
        if len(generic) > kept:
            notes.append(
                f"generic panel of {experiment} cut from {len(generic)} to {kept} personas, "
                "the documents panel's size"
            )
            generic = generic[:kept]
        personas += own["documents"].personas + generic
    return Extraction(personas, notes, runner.computed, runner.total - runner.computed)

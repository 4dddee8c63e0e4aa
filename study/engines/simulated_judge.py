"""The simulated engine's C7 truth: personas judging how likely a human's response was.

A judging request (tags include ``("judge", "1")``) scores one span, the human's
response, and names what is judged in its tags: ``experiment``, ``participant``,
``item`` (``experiment/participant/session/choice``), ``source`` (``documents``,
``generic`` or ``none``), ``persona`` (an id unique across sources) and ``round``
(0: independent; 1, 2, ...: after seeing the panel's judgements). The log-odds that the
judge gives the human's response is

    eta = judge_mu + d_item + g_source + b_persona
          + c_persona,item * judge_debate_shrink**round
          + judge_round_shift * round + e_persona,item,round

with ``d ~ N(0, judge_sd_item)`` per item, ``b ~ N(0, judge_sd_persona)`` per persona,
``c ~ N(0, judge_sd_persona_item)`` per (persona, item) and ``e ~ N(0, judge_sd_noise)``
per (persona, item, round), each drawn once from the engine's seed
(:meth:`~study.engines.simulated.SimulatedEngine._draw`), and ``g`` the source's gain
(``judge_documents_gain``, ``judge_generic_gain``, 0 for ``none``). The human's option
gets ``sigmoid(eta)``, the other options share the rest equally, and the NLL is
``-log sigmoid(eta)``, as for the engine's other requests.

So ``judge_documents_gain - judge_generic_gain`` is the true alignment gain of document
personas on the log-odds scale, ``judge_debate_shrink < 1`` is debate collapsing the
persona x item variance (conformity: round r keeps ``shrink**r`` of each persona's
item-specific view), and ``e`` is why rounds differ even without collapse: each round's
prompt shows other judgements. :meth:`JudgeTruth.effects` returns the terms of one
judgement for recovery checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from study.engines.base import Tags
from study.engines.config import SimulatedEngineConfig

JUDGE_TAG = ("judge", "1")
# What a judging request's tags must name.
NEEDED = ("item", "source", "persona", "round")
SOURCES = ("documents", "generic", "none")

# The engine's seeded normal draw: sd, then the parts that key it.
Draw = Callable[..., float]


def is_judging(tags: Tags) -> bool:
    return JUDGE_TAG in tags


@dataclass(frozen=True, slots=True)
class JudgeEffects:
    """The terms of one judgement's log-odds (see the module docstring); ``persona_item``
    is ``c`` before the debate's shrinkage, ``debate`` the factor ``shrink**round``."""

    mu: float
    item: float
    source: float
    persona: float
    persona_item: float
    debate: float
    round_shift: float
    noise: float

    @property
    def logit(self) -> float:
        return (
            self.mu
            + self.item
            + self.source
            + self.persona
            + self.persona_item * self.debate
            + self.round_shift
            + self.noise
        )


class JudgeTruth:
    """The judging truth of one engine configuration; ``draw`` is the engine's seeded
    normal draw, so that these effects are keyed like the engine's others."""

    def __init__(self, config: SimulatedEngineConfig, draw: Draw) -> None:
        self.config, self.draw = config, draw

    def source_gain(self, source: str) -> float:
        c = self.config
        gains = {"documents": c.judge_documents_gain, "generic": c.judge_generic_gain, "none": 0.0}
        if source not in gains:
            raise ValueError(f"judging source must be one of {SOURCES}, got {source!r}")
        return gains[source]

    def effects(self, item: str, source: str, persona: str, round_: int) -> JudgeEffects:
        """The true terms of persona ``persona`` (of ``source``) judging ``item`` at
        debate round ``round_``."""
        if round_ < 0:
            raise ValueError(f"a debate round is >= 0, got {round_}")
        c, draw = self.config, self.draw
        return JudgeEffects(
            mu=c.judge_mu,
            item=draw(c.judge_sd_item, "judge_item", item),
            source=self.source_gain(source),
            persona=draw(c.judge_sd_persona, "judge_persona", persona),
            persona_item=draw(c.judge_sd_persona_item, "judge_persona_item", persona, item),
            debate=c.judge_debate_shrink**round_,
            round_shift=c.judge_round_shift * round_,
            noise=draw(c.judge_sd_noise, "judge_noise", persona, item, round_),
        )

    def logits(self, tags: Tags, n_spans: int) -> list[float]:
        """The log-odds of the human's response at each span of a judging request
        (one span: the response judged)."""
        who = dict(tags)
        missing = sorted(set(NEEDED) - who.keys())
        if missing:
            raise ValueError(f"a judging request needs tags {missing}")
        if n_spans != 1:
            raise ValueError(f"a judging request scores one span (the response), got {n_spans}")
        effects = self.effects(who["item"], who["source"], who["persona"], int(who["round"]))
        return [effects.logit]


__all__ = ["JUDGE_TAG", "JudgeEffects", "JudgeTruth", "is_judging"]

"""The simulated engine: a statistical stand-in for a language model with known truth.

It answers the same requests with the same result types as the real engines, but its
response probabilities follow the V1 model of STUDY.md exactly: at choice point k of
person p under persona q, the probability that the model gives the human's response is

    P(match) = sigmoid(mu + a_p + b_q + c_pq + d_k)

with a_p, b_q, c_pq and d_k drawn once (seeded) from normals whose standard deviations
are the configured truth, and each run an independent Bernoulli draw under its seed.
Score mode returns -log P(match); option probabilities give the human's response
P(match) and share the rest equally among the other options; sample mode returns the
human's response on a match and otherwise a uniformly drawn other option (or the
empty string when no options are known). "Tokens" are whitespace-separated words: a
fake count, for progress reporting only.

Under a persona of C5's library (``archetype:DIM=LEVEL,...``) the log-odds gain a fit
term, ``fit_gain`` times the share of the person's latent type the candidate matches plus
per-choice noise (:mod:`study.engines.simulated_fit`).

Requests with a ``design`` tag (C4's hosted prompts, study.hosting) follow the hosting
truth instead; every other request is answered as above. A span owned by person o at
their choice k has log-odds

- in the profile designs (``alone``, ``cohosted``, K profiles in slots s_1..s_K, the
  target's slot t): ``mu + a_o + d_k + (1 - lam) g(o, s_t) + lam mean_{j != t} g(o, s_j)``
  plus, for K > 1, a per-span N(0, ``hosting_noise``) draw (K = 1: ``g(o, s_1)`` alone),
  where ``g(o, s) = b_q + c_oq`` for the persona ``q = "profile:" + s`` and ``lam`` is
  ``hosting_leakage``: co-hosted, the target's log-odds mix its own profile's effect
  with its partners';
- in the designs without profiles (``interleaved``, ``solo``, ``probe``): that of the
  `none` persona, ``mu + a_o + b_none + c_o,none + d_k``;

and its option distribution adds persistence and cross-talk terms
(:mod:`study.engines.simulated_hosting`, where the truth of CT/SS is derived).

Judging requests (tags with ``("judge", "1")``, C7's personas judging a human's
response) follow the judging truth of :mod:`study.engines.simulated_judge` instead: its
log-odds replace the match probability above, options and NLL as above.

>>> from study.engines.base import ScoreRequest
>>> engine = SimulatedEngine(SimulatedEngineConfig())
>>> request = ScoreRequest("pick <<A>> then <<B>>", ((7, 8), (17, 18)),
...     options=(("A", "B"), ("A", "B")),
...     tags=(("experiment", "e"), ("participant", "1"), ("persona", "none")))
>>> result = next(engine.score([request]))
>>> len(result.nll), round(sum(result.option_probs[0].values()), 12)
(2, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from study import __version__
from study.code_version import code_version
from study.engines.base import (
    SampleRequest,
    SampleResult,
    ScoreRequest,
    ScoreResult,
    Span,
    Tags,
)
from study.engines.config import EngineConfig, ModelConfig, SimulatedEngineConfig
from study.engines.seeds import stable_int
from study.engines.simulated_fit import FitTruth
from study.engines.simulated_hosting import PROFILE_DESIGNS, Hosted, SpanOdds, span_odds
from study.engines.simulated_judge import JudgeEffects, JudgeTruth, is_judging
from study.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Effects:
    """The true effects behind one choice point (for recovery checks)."""

    mu: float
    person: float
    persona: float
    person_persona: float
    item: float
    # C5: a library candidate's fit to the person's latent type (study.engines.simulated_fit).
    fit: float = 0.0

    @property
    def logit(self) -> float:
        return self.mu + self.person + self.persona + self.person_persona + self.item + self.fit


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class SimulatedEngine:
    """See the module docstring; ``effects`` exposes the truth."""

    def __init__(self, config: SimulatedEngineConfig) -> None:
        self.config = config
        self.fit_truth = FitTruth.of(config.fit_gain, config.fit_noise, config.fit_types)
        self.judge_truth = JudgeTruth(config, self._draw)

    def fingerprint(self) -> Mapping[str, str]:
        # The types' file by content (fit_types_sha256 below), not by where it lies.
        truth = {
            k: str(v) for k, v in asdict(self.config).items() if k not in {"name", "fit_types"}
        }
        return {
            "engine": "simulated",
            "engine_version": __version__,
            # This module's code (and what it imports): a changed engine is new results.
            "code_version": code_version(__name__),
            "model": "simulated",
            "model_sha256": "",
            **truth,
            # The latent types' content, not just their path, decides the results.
            "fit_types_sha256": self.fit_truth.digest,
        }

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def chat_prompt(self, user: str) -> str | None:
        # A made-up template (this engine has no real one), so that the `assistant`
        # persona runs end to end in simulation.
        return f"<user>\n{user}\n<assistant>\n"

    def _draw(self, sd: float, *parts: object) -> float:
        if sd == 0.0:
            return 0.0
        rng = np.random.default_rng(stable_int(self.config.seed, *parts))
        return float(sd * rng.standard_normal())

    def effects(self, experiment: str, participant: str, persona: str, item: int) -> Effects:
        """The true effects at choice point ``item`` of a person under a persona."""
        c = self.config
        return Effects(
            mu=c.mu,
            person=self._draw(c.sd_person, "person", experiment, participant),
            persona=self._draw(c.sd_persona, "persona", persona),
            person_persona=self._draw(
                c.sd_person_persona, "person_persona", experiment, participant, persona
            ),
            item=self._draw(c.sd_item, "item", experiment, item),
            fit=self._fit(experiment, participant, persona, item),
        )

    def _fit(self, experiment: str, participant: str, persona: str, item: int) -> float:
        levels = self.fit_truth.candidate(persona)
        if levels is None:
            return 0.0
        gain = self.config.fit_gain * self.fit_truth.share(experiment, participant, levels)
        noise = self._draw(
            self.config.fit_noise, "fit_noise", experiment, participant, persona, item
        )
        return gain + noise

    def judge_effects(self, item: str, source: str, persona: str, round_: int) -> JudgeEffects:
        """The true terms of a judgement (C7; :mod:`study.engines.simulated_judge`)."""
        return self.judge_truth.effects(item, source, persona, round_)

    def profile_effect(self, experiment: str, participant: str, source: str) -> float:
        """``g(p, s)``: the effect on person ``participant`` of showing the profile of
        participant ``source`` (persona ``profile:SOURCE``)."""
        effects = self.effects(experiment, participant, f"profile:{source}", 0)
        return effects.persona + effects.person_persona

    def crosstalk(self, experiment: str, owner: str, partner: str) -> float:
        """The pair's true cross-talk ``ct``: ``hosting_crosstalk`` times a log-normal
        factor of mean 1 (log-sd ``hosting_crosstalk_sd``), drawn per (owner, partner)."""
        c = self.config
        if c.hosting_crosstalk == 0.0:
            return 0.0
        sd = c.hosting_crosstalk_sd
        factor = self._draw(sd, "crosstalk", experiment, owner, partner)
        return c.hosting_crosstalk * math.exp(factor - sd * sd / 2)

    def hosted_logits(self, hosted: Hosted, tags: Tags) -> list[float]:
        """The true log-odds of the human response at each span of a hosted request
        (see the module docstring); ``tags`` seed the co-hosted noise."""
        c = self.config
        logits = []
        mixed: dict[str, float] = {}  # owner -> the profiles' mixed effect
        for i, (owner, k) in enumerate(zip(hosted.owners, hosted.choices, strict=True)):
            if hosted.design not in PROFILE_DESIGNS:
                logits.append(self.effects(hosted.experiment, owner, "none", k).logit)
                continue
            if owner not in mixed:
                mixed[owner] = self._mixed_profiles(hosted, owner)
            base = self.effects(hosted.experiment, owner, "none", k)
            logit = base.mu + base.person + base.item + mixed[owner]
            if len(hosted.slots) > 1:
                logit += self._draw(c.hosting_noise, "hosting_noise", *tags, i)
            logits.append(logit)
        return logits

    def _mixed_profiles(self, hosted: Hosted, owner: str) -> float:
        effects = [self.profile_effect(hosted.experiment, owner, s) for s in hosted.slots]
        target = effects.pop(hosted.target_slot)
        if not effects:
            return target
        lam = self.config.hosting_leakage
        return (1.0 - lam) * target + lam * sum(effects) / len(effects)

    def _hosted_odds(self, request: ScoreRequest | SampleRequest) -> list[SpanOdds]:
        hosted = Hosted.of(request.tags, len(request.spans))
        return span_odds(
            hosted,
            self.hosted_logits(hosted, request.tags),
            _responses(request.prompt, request.spans),
            request.options,
            self.config.hosting_persistence,
            lambda owner, partner: self.crosstalk(hosted.experiment, owner, partner),
        )

    def _match_probabilities(self, tags: Tags, n_choices: int) -> list[float]:
        if is_judging(tags):
            return [_sigmoid(x) for x in self.judge_truth.logits(tags, n_choices)]
        who = dict(tags)
        missing = {"experiment", "participant", "persona"} - who.keys()
        if missing:
            raise ValueError(f"the simulated engine needs request tags {sorted(missing)}")
        return [
            _sigmoid(self.effects(who["experiment"], who["participant"], who["persona"], k).logit)
            for k in range(n_choices)
        ]

    def score(self, requests: Sequence[ScoreRequest]) -> Iterator[ScoreResult]:
        for request in requests:
            if _is_hosted(request.tags):
                yield self._hosted_result(request)
                continue
            p_match = self._match_probabilities(request.tags, len(request.spans))
            responses = _responses(request.prompt, request.spans)
            option_probs = None
            if request.options is not None:
                option_probs = tuple(
                    _option_distribution(response, options, p)
                    for response, options, p in zip(
                        responses, request.options, p_match, strict=True
                    )
                )
            n_words = self.count_tokens(request.prompt)
            yield ScoreResult(
                nll=tuple(-math.log(p) for p in p_match),
                n_tokens=tuple(max(1, self.count_tokens(r)) for r in responses),
                option_probs=option_probs,
                tokens_evaluated=n_words,
                prompt_tokens=n_words,
                dropped_tokens=(0,) * len(p_match),
            )

    def _hosted_result(self, request: ScoreRequest) -> ScoreResult:
        odds = self._hosted_odds(request)
        n_words = self.count_tokens(request.prompt)
        return ScoreResult(
            nll=tuple(-math.log(o.p_human) for o in odds),
            n_tokens=tuple(
                max(1, self.count_tokens(r)) for r in _responses(request.prompt, request.spans)
            ),
            option_probs=None if request.options is None else tuple(o.options or {} for o in odds),
            tokens_evaluated=n_words,
            prompt_tokens=n_words,
            dropped_tokens=(0,) * len(odds),
        )

    def sample(self, requests: Sequence[SampleRequest]) -> Iterator[SampleResult]:
        for request in requests:
            dists: Sequence[dict[str, float] | None]
            if _is_hosted(request.tags):
                odds = self._hosted_odds(request)
                p_match = [o.p_human for o in odds]
                dists = [o.options for o in odds]
            else:
                p_match = self._match_probabilities(request.tags, len(request.spans))
                dists = [None] * len(p_match)
            rng = np.random.default_rng(request.seed)
            options = request.options or ((),) * len(request.spans)
            sampled = []
            for response, choices, p, dist in zip(
                _responses(request.prompt, request.spans), options, p_match, dists, strict=True
            ):
                if dist and response in dist:
                    # Hosted, with an option distribution: draw from it.
                    sampled.append(_draw_option(rng, dist))
                    continue
                others = [o for o in choices if o != response]
                if rng.random() < p:
                    sampled.append(response)
                elif others:
                    sampled.append(others[int(rng.integers(len(others)))])
                else:
                    sampled.append("")
            n_words = self.count_tokens(request.prompt)
            yield SampleResult(
                responses=tuple(sampled),
                tokens_evaluated=n_words + len(sampled),
                prompt_tokens=n_words,
            )

    def close(self) -> None:
        pass


def _responses(prompt: str, spans: Sequence[Span]) -> list[str]:
    return [prompt[start:end] for start, end in spans]


def _is_hosted(tags: Tags) -> bool:
    return any(name == "design" for name, _ in tags)


def _draw_option(rng: np.random.Generator, dist: Mapping[str, float]) -> str:
    options = list(dist)
    return options[int(rng.choice(len(options), p=np.array([dist[o] for o in options])))]


def _option_distribution(response: str, options: Sequence[str], p_match: float) -> dict[str, float]:
    """P(match) for the human's response, the rest shared equally by the other options
    (uniform when the human's response is not among them)."""
    if response not in options:
        return {o: 1.0 / len(options) for o in options}
    if len(options) == 1:
        return {response: 1.0}
    share = (1.0 - p_match) / (len(options) - 1)
    return {o: p_match if o == response else share for o in options}


def build(engine: EngineConfig, model: ModelConfig) -> SimulatedEngine:
    if not isinstance(engine, SimulatedEngineConfig):
        # Built from plain EngineConfig(name="simulated"): use the default truth.
        engine = SimulatedEngineConfig()
    for name in (
        "judge_sd_item",
        "judge_sd_persona",
        "judge_sd_persona_item",
        "judge_sd_noise",
        "sd_person",
        "sd_persona",
        "sd_person_persona",
        "sd_item",
        "hosting_crosstalk",
        "hosting_crosstalk_sd",
        "hosting_noise",
        "fit_noise",
    ):
        if getattr(engine, name) < 0:
            raise ConfigError(f"engine.{name} must be >= 0, got {getattr(engine, name)}")
    if not 0.0 <= engine.hosting_leakage <= 1.0:
        raise ConfigError(
            f"engine.hosting_leakage is a mixing weight in [0, 1], got {engine.hosting_leakage}"
        )
    if not 0.0 <= engine.judge_debate_shrink <= 1.0:
        raise ConfigError(
            "engine.judge_debate_shrink is the share of the persona x item effect a debate "
            f"round keeps, in [0, 1], got {engine.judge_debate_shrink}"
        )
    if engine.fit_gain != 0.0 and not engine.fit_types:
        raise ConfigError(
            "engine.fit_gain needs engine.fit_types: a table of the persons' latent types "
            "(python -m study stage=synth synth.persona_types=true writes truth.parquet)"
        )
    return SimulatedEngine(engine)

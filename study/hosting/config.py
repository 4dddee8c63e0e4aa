"""Configuration of C4, hosting several personas in one context (``conf/hosting/``).

Everything the model reads that is not data is here, as text templates, so a user can
reword it: the labels, the co-hosted header and attribution line, the interleaving
format. Placeholders: ``{label}`` (one person's label), ``{labels}`` (all labels of the
prompt, joined with ``and``), ``{preamble}`` (a profile preamble, ending in its blank
line), ``{trial}`` (one trial's text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict


@dataclass
class HostingConfig:
    # How many profiles share the context (1: the target alone, under the same labelled
    # format, so that K is the only difference).
    ks: list[int] = field(default_factory=lambda: [1, 2, 4])
    # Labels of the slots, in slot order; at least max(ks) of them.
    labels: list[str] = field(
        default_factory=lambda: ["Person A", "Person B", "Person C", "Person D"]
    )
    # Where the target's profile sits among the K: first or last slot.
    positions: list[str] = field(default_factory=lambda: ["first", "last"])
    # Which partners share the context (study.hosting.partners): the K - 1 persons of the
    # experiment whose profiles are closest (`similar`) or furthest (`contrasting`).
    partners: list[str] = field(default_factory=lambda: ["similar", "contrasting"])
    # Co-hosted prompt: header, one block per slot, then the attribution line and the
    # target's transcript.
    cohost_header: str = "The following people take part in this experiment.\n\n"
    profile_block: str = "{label}:\n{preamble}"
    attribution: str = "The session below is {label}'s.\n\n"
    # Interleaved transcripts: header, then one turn per trial, alternating persons.
    interleave_header: str = (
        "{labels} take part in the same experiment. Their trials alternate; each trial "
        "begins with the name of the person whose trial it is.\n\n"
    )
    turn: str = "{label}: {trial}"
    turn_separator: str = "\n"
    # Cross-talk probes per person of an interleaved pair (discrete choices only): the
    # choice points at which the partner's (CT) or the person's own (SS) last response
    # is swapped for another option, spread evenly over the transcript.
    crosstalk_probes: int = 4
    # Persons per experiment that are targets (None: every person of the data step).
    targets: int | None = None
    # Sampled hosting (V1 with a hosting factor): runs of these persona conditions,
    # alone and co-hosted with K = sampled_k, the first partner rule and position.
    sample_personas: list[str] = field(default_factory=lambda: ["own", "other"])
    sampled_k: int = 2
    # Verdict thresholds (STUDY.md, C4): CT/SS below `crosstalk_holds` holds; leakage or
    # CT/SS above `blend` fails. The ROPE of delta NLL is pipeline.rope.
    crosstalk_holds: float = 0.1
    blend: float = 0.25


@dataclass(frozen=True)
class FitSettings:
    """What C4's estimators run with: the posterior sampling (pipeline.draws, ...) and
    the verdicts' thresholds."""

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 0
    # ROPE of delta NLL and of the benefits, nats per choice (pipeline.rope).
    rope: float = 0.01
    # STUDY.md's thresholds (hosting.crosstalk_holds, hosting.blend).
    crosstalk_holds: float = 0.1
    blend: float = 0.25

    def sampler(self) -> SamplerKeywords:
        """The posterior sampling settings, as the fitting functions take them."""
        return {"draws": self.draws, "tune": self.tune, "chains": self.chains, "seed": self.seed}


class SamplerKeywords(TypedDict):
    draws: int
    tune: int
    chains: int
    seed: int

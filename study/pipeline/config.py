"""Configuration of the end-to-end pipeline (``stage=pipeline``; conf/experiment/)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PipelineConfig:
    # Which analyses to run, in this order (each is a chain of cached steps):
    #   simulation          synthetic data + simulated engine, recovering known components
    #   replicate_psych201  C2/T1: score none/own/other, Cohen's d beside the V2 model
    #   run_vs_persona      C1: sampled runs under several personas, V1 shares
    #   scale               C3/T3: the run_vs_persona shares against model size
    analyses: list[str] = field(default_factory=lambda: ["simulation"])
    # Models to run (names of conf/model/*.yaml); empty: the `model` config alone. The
    # simulation analysis always uses the simulated engine.
    models: list[str] = field(default_factory=list)
    # Keep only the first N choice points of each participant (the transcript is cut
    # after its N-th response); None keeps all. The quick profile uses it to bound cost.
    max_choices: int | None = None
    # Participants per experiment in the sampled (C1) analysis; None: as data.limit.
    sample_participants: int | None = None
    # Choice points per participant in the sampled (C1) analysis; None: as max_choices.
    # Sampling costs a pass per run, so the standard profile scores whole transcripts
    # for T1 while C1 keeps its short slice.
    sample_max_choices: int | None = None
    # Persona conditions of the sampled (C1) analysis; the scored (C2) analysis uses
    # the top-level `personas`.
    sample_personas: list[str] = field(
        default_factory=lambda: ["none", "own", "other", "archetype:cautious"]
    )
    # Posterior sampling of the variance models.
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    # Region of practical equivalence for the profile benefit, in nats per choice: T1's
    # intervals decide the claim only when inside or wholly outside [-rope, rope].
    rope: float = 0.01
    # The same for shares of variance (fractions): C1's run share minus persona share,
    # and C3's slope of the persona share per decade of parameters.
    share_rope: float = 0.02
    # The report's first line says it is a smoke test of the pipeline, not a
    # replication (the quick profile sets it: its slice of the data decides nothing).
    smoke_test: bool = False

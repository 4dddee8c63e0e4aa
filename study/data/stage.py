"""The data stage (``python -m study stage=data``) and the cards stage (``stage=cards``).

``stage=data data.path=PATH out=DIR`` writes ``DIR/participants.parquet`` (one row per
participant and session), ``DIR/choices.parquet`` (see :mod:`study.data.tables`), the
summary tables
``DIR/summary.csv`` (one row per experiment) and ``DIR/profile_fields.csv`` (one row per
experiment and profile field), ``DIR/data_cards/`` and ``DIR/figures/data_overview.png``.
Everything is staged and published together: bad input leaves DIR as it was.

``stage=cards out=data_cards`` writes only the cards (how the committed ones are made).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
from tqdm import tqdm

from study.atomic import StagedOutputs
from study.config import Config
from study.data.batches import Batch, iter_batches
from study.data.card_markdown import render_card
from study.data.cards import compute_card, trial_section, write_card_yaml
from study.data.figures import overview_figure
from study.data.provenance import Provenance, psych201_provenance
from study.data.reader import DEFAULT_MAX_LINE_BYTES, Quirks, ReadOptions
from study.data.sources import Source, ZipLimits, discover
from study.data.summary import FIELD_SCHEMA, field_rows, summary_row
from study.data.tables import write_tables
from study.errors import ConfigError

log = logging.getLogger(__name__)
PARTICIPANTS = "participants.parquet"
CHOICES = "choices.parquet"
SUMMARY = "summary.csv"
PROFILE_FIELDS = "profile_fields.csv"
CARDS = "data_cards"
FIGURE = "figures/data_overview.png"


def run(cfg: Config) -> None:
    """Load ``cfg.data.path`` and publish the tables, summaries and cards into ``cfg.out``."""
    with StagedOutputs(cfg.out) as staged:
        participants_path, choices_path = staged.path(PARTICIPANTS), staged.path(CHOICES)
        loaded = load_into(cfg, participants_path, choices_path, cards=cfg.data.cards)
        cards = compute_cards(loaded, participants_path, choices_path)
        pl.DataFrame([summary_row(card) for card in cards]).write_csv(staged.path(SUMMARY))
        pl.DataFrame(
            [row for card in cards for row in field_rows(card)], schema=FIELD_SCHEMA
        ).write_csv(staged.path(PROFILE_FIELDS))
        if cfg.data.cards:
            for card in cards:
                write_card(card, staged, f"{CARDS}/")
        overview_figure(
            pl.read_parquet(participants_path), pl.scan_parquet(choices_path), staged.path(FIGURE)
        )
    log.info("data: %d experiments from %s -> %s", len(cards), cfg.data.path, cfg.out)


def run_cards(cfg: Config) -> None:
    """Write only the data cards of ``cfg.data.path`` into ``cfg.out``."""
    with StagedOutputs(cfg.out) as staged, tempfile.TemporaryDirectory() as scratch:
        participants_path, choices_path = Path(scratch, PARTICIPANTS), Path(scratch, CHOICES)
        loaded = load_into(cfg, participants_path, choices_path, cards=True)
        for card in compute_cards(loaded, participants_path, choices_path):
            write_card(card, staged, "")


def compute_cards(loaded: Loaded, participants_path: Path, choices_path: Path) -> list[dict]:
    """One card per experiment, computed from the tables just written."""
    participants = pl.read_parquet(participants_path)
    choices = pl.scan_parquet(choices_path)
    return [
        compute_card(
            source.experiment,
            participants,
            choices,
            loaded.provenance(source),
            loaded.quirks.of(source.experiment),
            trials=loaded.trials.get(source.experiment),
        )
        for source in loaded.experiments()
    ]


class Loaded:
    """What a load found: its sources (one per experiment) and the quirks it noticed."""

    def __init__(self, sources: list[Source], quirks: Quirks, path_shown: str) -> None:
        self.sources = sources
        self.quirks = quirks
        self.path_shown = path_shown
        # Experiment -> how its first line's transcript is cut into trials (the card's
        # C4 section), noted while loading.
        self.trials: dict[str, dict[str, Any]] = {}

    def note_trials(self, batches: Iterator[Batch]) -> Iterator[Batch]:
        """``batches``, unchanged, noting each experiment's first line's trial cut."""
        for batch in batches:
            experiment = batch.source.experiment
            if batch.lines and experiment not in self.trials:
                first = batch.responses.filter(pl.col("row") == 0)
                self.trials[experiment] = trial_section(
                    batch.lines[0].transcript,
                    list(zip(first["start"], first["end"], strict=True)),
                    batch.lines[0].participant,
                )
            yield batch

    def experiments(self) -> list[Source]:
        """The first source of each experiment, in load order."""
        first: dict[str, Source] = {}
        for source in self.sources:
            first.setdefault(source.experiment, source)
        return list(first.values())

    def provenance(self, source: Source) -> Provenance:
        return psych201_provenance(source.folder, _display_path(source))


def _display_path(source: Source) -> str:
    """The source's path relative to the working directory when it lies inside it."""
    outer, _, inner = source.label.partition("!")
    path = Path(outer)
    with contextlib.suppress(ValueError):  # outside the working directory: keep as given
        path = path.resolve().relative_to(Path.cwd())
    return f"{path.as_posix()}!{inner}" if inner else path.as_posix()


def load_into(cfg: Config, participants_path: Path, choices_path: Path, *, cards: bool) -> Loaded:
    """Stream ``cfg.data.path`` into the two parquet tables, with a progress bar."""
    data = cfg.data
    if data.max_zip_ratio <= 1 or data.max_unzipped_gb <= 0 or data.max_line_mb <= 0:
        raise ConfigError(
            "data.max_zip_ratio must exceed 1; data.max_unzipped_gb and data.max_line_mb "
            "must be positive"
        )
    limits = ZipLimits(
        max_ratio=data.max_zip_ratio, max_total_bytes=int(data.max_unzipped_gb * (1 << 30))
    )
    max_line = int(data.max_line_mb * (1 << 20)) or DEFAULT_MAX_LINE_BYTES
    sources = discover(data.path, limits)
    quirks = Quirks()
    loaded = Loaded(sources, quirks, data.path)
    total = sum(s.size or 0 for s in sources) or None
    with tqdm(
        total=total, unit="B", unit_scale=True, desc="data", mininterval=1.0, disable=None
    ) as bar:
        options = ReadOptions(
            zip_limits=limits,
            max_line_bytes=max_line,
            quirks=quirks if cards else None,
            progress=_ByteProgress(bar),
        )
        batches = iter_batches(data.path, data.limit, options)
        write_tables(loaded.note_trials(batches), participants_path, choices_path)
    return loaded


class _ByteProgress:
    """Feeds per-stream byte counts into one progress bar over all streams."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.current: str | None = None
        self.done = 0

    def __call__(self, source: Source, read: int) -> None:
        if source.label != self.current:
            self.current = source.label
            self.done = 0
        self.bar.update(read - self.done)
        self.done = read


def write_card(card: dict[str, Any], staged: StagedOutputs, prefix: str) -> None:
    name = card["experiment"]
    write_card_yaml(card, staged.path(f"{prefix}{name}.yaml"))
    staged.path(f"{prefix}{name}.md").write_text(render_card(card), encoding="utf-8")

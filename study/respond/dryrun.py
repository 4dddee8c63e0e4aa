"""What a dry run shows: prompts as the model reads them, token counts, cached requests."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from study.engines.base import Engine
from study.personas import RenderedPrompt
from study.respond.plan import Job
from study.store import ResponseStore

# Prompts longer than this are shown with their middle elided.
SHOWN_CHARS = 1200


def _excerpt(text: str) -> str:
    if len(text) <= SHOWN_CHARS:
        return text
    half = SHOWN_CHARS // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half:,} characters ...]\n{text[-half:]}"


def describe_plan(
    prompts: Sequence[RenderedPrompt],
    score_jobs: Sequence[Job],
    sample_jobs: Sequence[Job],
    store_path: Path,
    engine: Engine,
    fresh: bool,
) -> str:
    """The first prompt of each (experiment, persona), token counts per experiment and
    persona, and how many requests the store already holds (creating no file)."""
    lines: list[str] = []
    seen: set[tuple[str, str]] = set()
    tokens: dict[tuple[str, str], list[int]] = defaultdict(list)
    for rendered in prompts:
        where = (rendered.experiment, rendered.persona)
        tokens[where].append(engine.count_tokens(rendered.prompt))
        if where not in seen:
            seen.add(where)
            lines += [
                f"=== {rendered.experiment} / participant {rendered.participant} / "
                f"persona {rendered.persona} ({len(rendered.spans)} choice points, "
                f"{tokens[where][-1]:,} tokens)",
                _excerpt(rendered.prompt),
                "",
            ]
    lines.append("experiment / persona: prompts, tokens (total, mean, max)")
    for (experiment, persona), counts in tokens.items():
        lines.append(
            f"  {experiment} / {persona}: {len(counts)}, "
            f"{sum(counts):,}, {sum(counts) / len(counts):,.0f}, {max(counts):,}"
        )
    cached: set[str] = set()
    if store_path.exists():
        with ResponseStore(store_path) as store:
            cached = store.contains(job.key for job in [*score_jobs, *sample_jobs])
    n_scores = sum(job.key in cached for job in score_jobs)
    n_samples = sum(job.key in cached for job in sample_jobs)
    lines.append(
        f"requests: {len(score_jobs)} score ({n_scores} cached), "
        f"{len(sample_jobs)} sample ({n_samples} cached) in {store_path}"
        + ("; fresh=true recomputes all of them" if fresh else "")
    )
    return "\n".join(lines)

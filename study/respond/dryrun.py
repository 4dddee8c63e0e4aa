"""What a dry run shows: prompts as the model reads them, token counts, cached requests."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from study.engines.base import Engine
from study.hosting.records import HostedPrompt
from study.personas import RenderedPrompt
from study.respond.plan import Job
from study.store import ResponseStore

# A long prompt is shown as its opening (the preamble and the first trials, so that a
# reader can check what the model reads first) and its end (where the length limit cut
# it), the middle elided.
OPENING_CHARS = 1500
CLOSING_CHARS = 300


def _excerpt(text: str) -> str:
    """``text`` whole, or its first OPENING_CHARS and last CLOSING_CHARS characters.

    >>> shown = _excerpt("a" * OPENING_CHARS + "b" * 1000 + "c" * CLOSING_CHARS)
    >>> opening, elided, end = shown.splitlines()
    >>> opening == "a" * OPENING_CHARS, elided, end == "c" * CLOSING_CHARS
    (True, '[... 1,000 characters ...]', True)
    """
    if len(text) <= OPENING_CHARS + CLOSING_CHARS:
        return text
    elided = len(text) - OPENING_CHARS - CLOSING_CHARS
    return f"{text[:OPENING_CHARS]}\n[... {elided:,} characters ...]\n{text[-CLOSING_CHARS:]}"


def describe_plan[P: RenderedPrompt | HostedPrompt](
    prompts: Sequence[P],
    score_jobs: Sequence[Job[P]],
    sample_jobs: Sequence[Job[P]],
    store_path: Path,
    engine: Engine,
    fresh: bool,
    condition: Callable[[P], str] = lambda rendered: getattr(rendered, "persona", ""),
    kind: str = "persona",
) -> str:
    """The first prompt of each (experiment, condition) (its opening at least, see
    :func:`_excerpt`), token counts per experiment and condition, and how many requests
    the store already holds (creating no file). The condition is the persona by default
    (C4 passes its design), named ``kind``."""
    lines: list[str] = []
    seen: set[tuple[str, str]] = set()
    tokens: dict[tuple[str, str], list[int]] = defaultdict(list)
    for rendered in prompts:
        where = (rendered.experiment, condition(rendered))
        tokens[where].append(engine.count_tokens(rendered.prompt))
        if where not in seen:
            seen.add(where)
            lines += [
                f"=== {rendered.experiment} / participant {rendered.participant} / "
                f"{kind} {where[1]} ({len(rendered.spans)} choice points, "
                f"{tokens[where][-1]:,} tokens)",
                _excerpt(rendered.prompt),
                "",
            ]
    lines.append(f"experiment / {kind}: prompts, tokens (total, mean, max)")
    for (experiment, kind), counts in tokens.items():
        lines.append(
            f"  {experiment} / {kind}: {len(counts)}, "
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

"""One picture of what was loaded: per experiment, choices per session (transcript), the
most frequent responses, and transcript lengths."""

from __future__ import annotations

from pathlib import Path

import polars as pl

TOP_RESPONSES = 10


def overview_figure(participants: pl.DataFrame, choices: pl.LazyFrame, path: Path) -> None:
    """Write ``path`` (PNG): one row of three panels per experiment."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    experiments = participants["experiment"].unique(maintain_order=True).to_list()
    fig, axes = plt.subplots(
        len(experiments), 3, figsize=(12, 2.8 * len(experiments)), squeeze=False
    )
    for row, experiment in zip(axes, experiments, strict=True):
        people = participants.filter(pl.col("experiment") == experiment)
        top = (
            choices.filter(pl.col("experiment") == experiment)
            .group_by("response")
            .agg(pl.len().alias("n"))
            .sort(["n", "response"], descending=[True, False])
            .head(TOP_RESPONSES)
            .collect(engine="streaming")
        )
        n_people = people["participant"].n_unique()
        row[0].hist(people["n_choices"].to_numpy(), bins=30, color="#4c72b0")
        row[0].set_title(f"{experiment}: choices per session", fontsize=9)
        row[0].set_ylabel("sessions")
        row[1].barh(top["response"].to_list()[::-1], top["n"].to_list()[::-1], color="#55a868")
        row[1].set_title(f"most frequent responses (of {n_people} people)", fontsize=9)
        row[1].set_xlabel("responses")
        row[2].hist(people["transcript_chars"].to_numpy(), bins=30, color="#c44e52")
        row[2].set_title("transcript length (characters)", fontsize=9)
    fig.tight_layout()
    # No software/version stamp, so the same data gives the same bytes.
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)

"""The respond stage: personas -> engine -> store -> scores.parquet and samples.parquet."""

from study.respond.stage import RespondOutcome, respond

__all__ = ["RespondOutcome", "respond"]

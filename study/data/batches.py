"""Step 2 of reading (markers, see :mod:`study.data.reader`) for many lines at once.

The tables do not need one Python object per response: a batch of transcripts is cut
at its markers by polars string kernels, and every response's text and character span
come out as columns. A batch with any bad transcript hands its first bad line to
:func:`study.data.reader.read_responses`, which words the error exactly as reading line
by line would.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from study.data.reader import Fields, ReadOptions, iter_fields, read_responses
from study.data.sources import Source
from study.errors import StudyInputError

BATCH_CHARS = 16 << 20
# The text of a piece up to its first ">>" (the response), or null when it has none.
_UP_TO_CLOSE = r"(?s)^(.*?)>>"


@dataclass
class Batch:
    """Consecutive lines of one source with their responses as columns."""

    source: Source
    lines: list[Fields]
    # One row per response: row (position in ``lines``), index, response, start, end.
    responses: pl.DataFrame
    # Responses per line.
    counts: list[int]


def iter_batches(
    path: str | Path,
    limit: int | None = None,
    options: ReadOptions | None = None,
    batch_chars: int = BATCH_CHARS,
) -> Iterator[Batch]:
    """The lines of every experiment under ``path`` in batches of about ``batch_chars``
    transcript characters; raises at the first bad line like
    :func:`~study.data.reader.iter_records`."""
    pending: list[Fields] = []
    pending_source: Source | None = None
    chars = 0
    lines = iter_fields(path, limit, options)
    while True:
        try:
            source, fields = next(lines)
        except StopIteration:
            break
        except StudyInputError:
            # Earlier lines come first: their marker errors outrank this one.
            if pending_source is not None:
                cut_batch(pending_source, pending)
            raise
        if pending_source is not None and (source is not pending_source or chars >= batch_chars):
            yield cut_batch(pending_source, pending)
            pending, chars = [], 0
        pending_source = source
        pending.append(fields)
        chars += len(fields.transcript)
    if pending_source is not None:
        yield cut_batch(pending_source, pending)


def cut_batch(source: Source, lines: list[Fields]) -> Batch:
    """Cut every transcript of ``lines`` at its markers; raise for the first bad one."""
    texts = pl.Series("text", [f.transcript for f in lines], dtype=pl.String)
    per_line = pl.DataFrame(
        {
            "opens": texts.str.count_matches("<<", literal=True),
            "closes": texts.str.count_matches(">>", literal=True),
            "rts": [-1 if f.rts is None else len(f.rts) for f in lines],
        }
    )
    # Splitting at "<<" finds the opening markers that a left-to-right scan finds; piece
    # k >= 1 starts right after the k-th "<<" and holds response k-1 up to its ">>".
    pieces = (
        texts.str.split("<<")
        .to_frame("piece")
        .with_row_index("row")
        .explode("piece")
        .with_columns(length=pl.col("piece").str.len_chars() + 2)
    )
    # Where each piece starts in its transcript: the lengths (plus "<<") of the pieces
    # before it in the same transcript. The pieces of one transcript add up to its
    # length + 2, which gives each transcript's starting point in the running total.
    line_base = (texts.str.len_chars() + 2).cum_sum() - (texts.str.len_chars() + 2)
    pieces = pieces.with_columns(
        start=pl.col("length").cum_sum()
        - pl.col("length")
        - pl.lit(line_base).gather(pl.col("row")),
        first=pl.col("row").is_first_distinct(),
    )
    # The response is its piece up to the first ">>". For ASCII text a byte offset is a
    # character offset, and a plain search is much cheaper than a regular expression.
    ascii_only = bool((texts.str.len_bytes() == texts.str.len_chars()).all())
    piece = pl.col("piece")
    close_at = piece.str.find(">>", literal=True)
    up_to_close = (
        pl.when(close_at.is_not_null()).then(piece.str.slice(0, close_at))
        if ascii_only
        else piece.str.extract(_UP_TO_CLOSE, 1)
    )
    responses = (
        pieces.filter(~pl.col("first"))
        .with_columns(response=up_to_close)
        .select(
            "row",
            index=(pl.int_range(pl.len()).over("row")).cast(pl.Int32),
            response="response",
            start="start",
            end=pl.col("start") + pl.col("response").str.len_chars(),
        )
    )
    unclosed = responses.filter(pl.col("response").is_null() | (pl.col("response") == ""))
    bad_rows = per_line.with_row_index("row").filter(
        (pl.col("opens") != pl.col("closes"))
        | (pl.col("opens") == 0)
        | ((pl.col("rts") >= 0) & (pl.col("rts") != pl.col("opens")))
        | pl.col("row").is_in(unclosed["row"].implode())
    )
    if bad_rows.height:
        first_bad = lines[bad_rows["row"][0]]
        read_responses(first_bad, source)  # raises with the exact message
        raise AssertionError(f"{source.label}:{first_bad.line}: batch and line checks disagree")
    return Batch(source, lines, responses, per_line["opens"].to_list())

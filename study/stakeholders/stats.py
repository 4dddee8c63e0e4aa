"""C7's statistics on the judgements frame: alignment, its gain, decomposition, collapse.

The judgements frame has one row per (model, persona, item, round): columns ``model``,
``experiment``, ``participant``, ``session``, ``choice``, ``item``
(``experiment/participant/session/choice``), ``source`` (``documents``, ``generic``,
``none``), ``persona`` (unique across sources), ``round`` (0: independent; the ``none``
source has round 0 only), ``human``, ``n_options``, ``p_human`` (the judge's probability
of the human's response), ``logp`` (its log: the judgement's alignment) and ``logodds``
(``log p - log(1 - p)``, p clipped to [1e-6, 1 - 1e-6]).

- :func:`alignment_table`: mean ``logp`` per (model, experiment, source, round), with a
  cluster-bootstrap interval over persons.
- :func:`alignment_gain`: documents' alignment minus generic's, paired per item.
- :func:`decomposition`: V1 (Gaussian on ``logodds``) with item, persona, persona x item,
  source and round.
- :func:`debate_collapse`: does debate shrink the persona x item variance?
- :func:`verdict`: STUDY.md's C7 from a gain row and a collapse row.

Intervals are percentile intervals of a bootstrap that resamples persons
(experiment, participant) with replacement within each experiment, each with all their
items and all of a source's personas: items of one person are not independent. The
same resampled persons serve every cell (seeded per experiment), so cells compare
pairwise. They are conditional on the personas judged: persona sampling is the
decomposition's persona component, not these intervals' business.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from study.engines.seeds import stable_int
from study.errors import StudyInputError
from study.stakeholders.config import PANEL_SOURCES, SOURCES

if TYPE_CHECKING:
    from study.variance.result import VarianceResult

# The experiment label of rows pooled over experiments.
POOLED = "all"
NEEDED = ("model", "experiment", "participant", "item", "source", "persona", "round")
DECOMPOSITION_TERMS = ("item", "persona", "persona:item", "source", "round")
# One row per (persona, item, round) and no runs: what is left after the terms is the
# persona x item x round interaction.
DECOMPOSITION_RESIDUAL = "persona:item:round"
# Within one round each (persona, item) has one row, so a persona:item term and the
# residual could not be told apart: the residual is the persona x item variance.
COLLAPSE_FORMULA = "logodds ~ 1 + (1|item) + (1|persona)"
COLLAPSE_COMPONENT = "persona:item"
# Weakly identified terms (few sources, few rounds) diverge less with smaller steps.
TARGET_ACCEPT = 0.95
HOLDS, FAILS, UNDECIDED = "holds", "fails", "undecided at this size"


# -- input and the bootstrap --------------------------------------------------------------
def _prepared(judgements: pl.DataFrame, outcome: str) -> pl.DataFrame:
    """The needed columns (text ids, int rounds) and ``_person``, an index of
    (experiment, participant) in sorted order."""
    missing = [c for c in (*NEEDED, outcome) if c not in judgements.columns]
    if missing:
        raise StudyInputError(f"the judgements frame lacks columns {missing}")
    if judgements.height == 0:
        raise StudyInputError("the judgements frame has no rows")
    frame = judgements.select(
        *(pl.col(c).cast(pl.String) for c in NEEDED if c != "round"),
        pl.col("round").cast(pl.Int64),
        pl.col(outcome).cast(pl.Float64),
    )
    if frame[outcome].is_null().any() or not frame[outcome].is_finite().all():
        raise StudyInputError(f"the judgements frame has missing or infinite {outcome!r}")
    persons = (
        frame.select("experiment", "participant")
        .unique()
        .sort("experiment", "participant")
        .with_row_index("_person")
    )
    return frame.join(persons, on=["experiment", "participant"], how="left")


def _bootstrap_weights(frame: pl.DataFrame, draws: int, seed: int) -> np.ndarray:
    """(draws, persons): how often each person is drawn, persons resampled with
    replacement within their experiment; each experiment's stream is seeded by its name,
    so its draws do not depend on which other experiments the frame holds."""
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    persons = frame.select("_person", "experiment").unique().sort("_person")
    weights = np.zeros((draws, persons.height))
    for (experiment,), block in persons.group_by(["experiment"], maintain_order=True):
        index = block["_person"].to_numpy()
        rng = np.random.default_rng(stable_int(seed, "c7 bootstrap", experiment))
        n = index.size
        weights[:, index] = rng.multinomial(n, np.full(n, 1.0 / n), size=draws)
    return weights


def _per_person(rows: pl.DataFrame, column: str, n_persons: int) -> tuple[np.ndarray, np.ndarray]:
    """Each person's sum of ``column`` and row count."""
    person = rows["_person"].to_numpy()
    sums = np.bincount(person, weights=rows[column].to_numpy(), minlength=n_persons)
    return sums, np.bincount(person, minlength=n_persons).astype(np.float64)


def _ratio_draws(weights: np.ndarray, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The bootstrap replicates of sum / count (NaN where a replicate drew no rows)."""
    numerator, denominator = weights @ sums, weights @ counts
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def _percentiles(values: np.ndarray, prob: float) -> tuple[float, float]:
    if not 0.0 < prob < 1.0:
        raise ValueError(f"prob must lie in (0, 1), got {prob}")
    kept = values[np.isfinite(values)]
    if kept.size == 0:
        return math.nan, math.nan
    low, high = np.quantile(kept, [(1.0 - prob) / 2.0, (1.0 + prob) / 2.0])
    return float(low), float(high)


def _last_round(frame: pl.DataFrame) -> int:
    """The highest round in ``frame`` (0 when empty)."""
    return int(frame["round"].to_numpy().max()) if frame.height else 0


def _source_order(sources: Sequence[str]) -> list[str]:
    known = [s for s in SOURCES if s in sources]
    return known + sorted(s for s in sources if s not in SOURCES)


# -- alignment ----------------------------------------------------------------------------
def alignment_table(
    judgements: pl.DataFrame, prob: float = 0.94, draws: int = 2000, seed: int = 0
) -> pl.DataFrame:
    """Alignment per (model, experiment, source, round): the mean ``logp`` over the
    cell's rows (items x personas), with the cluster bootstrap's percentile interval
    (``lower``, ``upper``), ``n_persons``, ``n_items``, ``n_personas``. With more than one
    experiment in the frame, rows of experiment ``"all"`` pool them (the mean over all
    their rows; persons resampled within experiments). The same ``seed`` gives the same
    intervals."""
    frame = _prepared(judgements, "logp")
    weights = _bootstrap_weights(frame, draws, seed)
    n_persons = weights.shape[1]
    experiments = sorted(frame["experiment"].unique().to_list())
    labels = [*[(e, [e]) for e in experiments], *([(POOLED, experiments)] * (len(experiments) > 1))]
    rows = []
    for model in sorted(frame["model"].unique().to_list()):
        of_model = frame.filter(pl.col("model") == model)
        for source in _source_order(of_model["source"].unique().to_list()):
            of_source = of_model.filter(pl.col("source") == source)
            for round_ in sorted(of_source["round"].unique().to_list()):
                cell = of_source.filter(pl.col("round") == round_)
                for label, members in labels:
                    rows_of = cell.filter(pl.col("experiment").is_in(members))
                    if rows_of.height == 0:
                        continue
                    sums, counts = _per_person(rows_of, "logp", n_persons)
                    lower, upper = _percentiles(_ratio_draws(weights, sums, counts), prob)
                    rows.append(
                        {
                            "model": model,
                            "experiment": label,
                            "source": source,
                            "round": round_,
                            "alignment": float(sums.sum() / counts.sum()),
                            "lower": lower,
                            "upper": upper,
                            "n_persons": int(np.count_nonzero(counts)),
                            "n_items": rows_of["item"].n_unique(),
                            "n_personas": rows_of["persona"].n_unique(),
                        }
                    )
    return pl.DataFrame(rows, schema=_ALIGNMENT_SCHEMA)


_ALIGNMENT_SCHEMA = {
    "model": pl.String,
    "experiment": pl.String,
    "source": pl.String,
    "round": pl.Int64,
    "alignment": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
    "n_persons": pl.Int64,
    "n_items": pl.Int64,
    "n_personas": pl.Int64,
}


def _source_at_round(frame: pl.DataFrame, source: str, round_: int) -> pl.DataFrame:
    """Per item, the mean ``logp`` over ``source``'s personas at ``round_``, or at the
    source's last round when it has fewer: a judge without a panel (``none``) does not
    debate, so its round-0 judgement stands at every round."""
    rows = frame.filter(pl.col("source") == source)
    if rows.height == 0:
        return pl.DataFrame(schema={"item": pl.String, "_person": pl.UInt32, "logp": pl.Float64})
    at = min(round_, _last_round(rows))
    return rows.filter(pl.col("round") == at).group_by("item", "_person").agg(pl.col("logp").mean())


def alignment_gain(
    judgements: pl.DataFrame,
    a: str = "documents",
    b: str = "generic",
    round_: int | None = None,
    prob: float = 0.94,
    draws: int = 2000,
    seed: int = 0,
    rope: float = 0.0,
) -> pl.DataFrame:
    """Per model: ``gain``, the mean over items of (mean ``logp`` over ``a``'s personas)
    minus (the mean over ``b``'s), items paired; at ``round_`` (default: the last round
    either source reached; a source with fewer rounds contributes its last); the cluster
    bootstrap's ``lower`` and ``upper``; ``p_above_rope``, the share of bootstrap
    replicates with gain > ``rope``; ``n_persons`` and ``n_items`` (items both sources
    judged). A model without both sources gets NaN."""
    frame = _prepared(judgements, "logp")
    weights = _bootstrap_weights(frame, draws, seed)
    rows = []
    for model in sorted(frame["model"].unique().to_list()):
        of_model = frame.filter(pl.col("model") == model)
        sides = of_model.filter(pl.col("source").is_in([a, b]))
        at = round_ if round_ is not None else _last_round(sides)
        paired = _source_at_round(of_model, a, at).join(
            _source_at_round(of_model, b, at), on=["item", "_person"], suffix="_b"
        )
        paired = paired.with_columns(diff=pl.col("logp") - pl.col("logp_b"))
        row: dict[str, Any] = {"model": model, "a": a, "b": b, "round": at, "rope": rope}
        if paired.height == 0:
            row |= {"gain": math.nan, "lower": math.nan, "upper": math.nan}
            row |= {"p_above_rope": math.nan, "n_persons": 0, "n_items": 0}
            rows.append(row)
            continue
        sums, counts = _per_person(paired, "diff", weights.shape[1])
        replicates = _ratio_draws(weights, sums, counts)
        lower, upper = _percentiles(replicates, prob)
        finite = replicates[np.isfinite(replicates)]
        row |= {
            "gain": float(paired["diff"].to_numpy().mean()),
            "lower": lower,
            "upper": upper,
            "p_above_rope": float(np.mean(finite > rope)),
            "n_persons": int(np.count_nonzero(counts)),
            "n_items": paired.height,
        }
        rows.append(row)
    return pl.DataFrame(rows, schema=_GAIN_SCHEMA).select(list(_GAIN_SCHEMA))


_GAIN_SCHEMA = {
    "model": pl.String,
    "a": pl.String,
    "b": pl.String,
    "round": pl.Int64,
    "gain": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
    "rope": pl.Float64,
    "p_above_rope": pl.Float64,
    "n_persons": pl.Int64,
    "n_items": pl.Int64,
}


# -- variance decompositions --------------------------------------------------------------
def _fit(
    frame: pl.DataFrame,
    formula: str,
    residual: str,
    *,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    prob: float,
    target_accept: float = TARGET_ACCEPT,
) -> VarianceResult:
    # Imported here: PyMC takes seconds to load, and the alignment functions need none of it.
    from study.variance.variance_model import VarianceModel

    model = VarianceModel(frame, formula, family="gaussian", residual=residual)
    return model.fit(
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
        target_accept=target_accept,
        ci_prob=prob,
        ci_kind="eti",
        reml=False,
        log_likelihood=False,
    )


def decomposition_formula(frame: pl.DataFrame, terms: Sequence[str] = DECOMPOSITION_TERMS) -> str:
    """The decomposition's formula for one model's judgements: a term for each of
    ``terms`` whose columns vary (one source or one round has no variance to estimate).

    >>> frame = pl.DataFrame({"item": ["a", "b"], "persona": ["p", "q"], "source": ["s"] * 2,
    ...                       "round": [0, 0]})
    >>> decomposition_formula(frame)
    'logodds ~ 1 + (1|item) + (1|persona) + (1|persona:item)'
    """
    kept = [t for t in terms if all(frame[c].n_unique() > 1 for c in t.split(":"))]
    return "logodds ~ 1 + " + " + ".join(f"(1|{t})" for t in kept)


def decompose(
    judgements: pl.DataFrame,
    *,
    draws: int = 500,
    tune: int = 500,
    chains: int = 2,
    seed: int = 0,
    prob: float = 0.94,
    terms: Sequence[str] = DECOMPOSITION_TERMS,
    target_accept: float = TARGET_ACCEPT,
) -> VarianceResult:
    """V1 on one model's judgements (see :func:`decomposition`): the whole fit."""
    frame = _prepared(judgements, "logodds")
    if frame["model"].n_unique() != 1:
        raise StudyInputError("decompose fits one model's judgements; use decomposition()")
    return _fit(
        frame,
        decomposition_formula(frame, terms),
        DECOMPOSITION_RESIDUAL,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
        prob=prob,
        target_accept=target_accept,
    )


def decomposition(
    judgements: pl.DataFrame,
    draws: int = 500,
    tune: int = 500,
    chains: int = 2,
    seed: int = 0,
    prob: float = 0.94,
    terms: Sequence[str] = DECOMPOSITION_TERMS,
    target_accept: float = TARGET_ACCEPT,
) -> pl.DataFrame:
    """Per model, V1 Gaussian on ``logodds``:
    ``logodds ~ 1 + (1|item) + (1|persona) + (1|persona:item) + (1|source) + (1|round)``
    (``terms``; a term whose columns do not vary is left out). One row per component: ``share``
    (data scale, = latent for the Gaussian) with ``lower`` and ``upper``, ``variance``
    with its interval, ``passed`` (the fit's diagnostics gate: a failed fit's numbers are
    not to be read), ``n_items``, ``n_personas``, ``n_rounds``.

    Score-mode judgements are deterministic (no runs to repeat), so the residual,
    ``persona:item:round``, is the persona x item x round interaction: how a persona's
    view of an item moves between rounds, not sampling noise.

    Source (3 levels, personas nested in it) and round (a few levels) are weakly
    identified random factors: their SDs rest on 3 and 2-4 values, the intercept trades
    off against their level effects, and with a true round variance near 0 the sampler
    meets a funnel. Measured on 40 items x 7 personas x 2 rounds (simulated truth), the
    full formula failed the gate (R-hat up to 1.02, bulk ESS 80-300 of 2,000-3,000 draws,
    6-13 divergences) at target_accept 0.95 and 0.99 and under either centring; with 4
    chains x 1,000 draws, target_accept 0.99 and both non-centred it still failed (2
    divergences, intercept ESS 165), and the posterior gave round, whose true variance
    was 0, a data share of 0.09 (variance 0.21 [0.00, 0.93]): with 2-3 levels these are
    mostly prior. A failed fit is marked (``passed`` False) and must not be read:
    report it as failed, or drop the two terms (``terms=("item", "persona",
    "persona:item")``, which passed with 2 x 500 draws; the sources' and rounds' effects
    then sit in persona and the residual) and read source and round from
    :func:`alignment_table` and :func:`alignment_gain`, which estimate them directly.
    """
    frame = _prepared(judgements, "logodds")
    rows = []
    for model in sorted(frame["model"].unique().to_list()):
        of_model = frame.filter(pl.col("model") == model)
        result = decompose(
            judgements.filter(pl.col("model").cast(pl.String) == model),
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            prob=prob,
            terms=terms,
            target_accept=target_accept,
        )
        rows += share_rows(model, result, of_model)
    return pl.DataFrame(rows, schema=_DECOMPOSITION_SCHEMA)


def share_rows(model: str, result: VarianceResult, frame: pl.DataFrame) -> list[dict[str, Any]]:
    """One decomposition row per component of ``result`` (a fit of ``frame``, one
    model's rows): data-scale share and variance with their intervals, the gate, sizes.
    A gaussian fit has no ``nonadditive`` part; a binomial fit's is kept, so that the
    shares add up to 1."""
    table = result.components
    if result.family.name == "gaussian":
        table = table[table["component"] != "nonadditive"]
    return [
        {
            "model": model,
            "component": record["component"],
            "share": record["data_share"],
            "lower": record["data_share_lower"],
            "upper": record["data_share_upper"],
            "variance": record["variance"],
            "variance_lower": record["variance_lower"],
            "variance_upper": record["variance_upper"],
            "passed": bool(result.passed),
            "n_items": frame["item"].n_unique(),
            "n_personas": frame["persona"].n_unique(),
            "n_rounds": frame["round"].n_unique(),
        }
        for record in table.to_dict("records")
    ]


_DECOMPOSITION_SCHEMA = {
    "model": pl.String,
    "component": pl.String,
    "share": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
    "variance": pl.Float64,
    "variance_lower": pl.Float64,
    "variance_upper": pl.Float64,
    "passed": pl.Boolean,
    "n_items": pl.Int64,
    "n_personas": pl.Int64,
    "n_rounds": pl.Int64,
}


def _persona_item_draws(result: VarianceResult) -> np.ndarray:
    from study.variance.posterior import flat

    return flat(result.posterior["variance"].sel(component=COLLAPSE_COMPONENT))


def debate_collapse(
    judgements: pl.DataFrame,
    draws: int = 500,
    tune: int = 500,
    chains: int = 2,
    seed: int = 0,
    prob: float = 0.94,
    threshold: float = 0.5,
) -> pl.DataFrame:
    """Per model, among the panel sources (``documents``, ``generic``): the persona x item
    variance of the last round over that of round 0.

    Each round is fitted on its own, ``logodds ~ 1 + (1|item) + (1|persona)``: within a
    round a (persona, item) has one judgement, so the residual is the persona x item
    variance (a separate persona:item term could not be told from it). ``ratio`` is the
    median of the two posteriors' draws divided pairwise (independent fits: draws paired
    after flattening), ``lower``/``upper`` its equal-tailed interval. ``collapsed``:
    ``"yes"`` when upper < ``threshold``, ``"no"`` when lower > ``threshold``,
    ``"undecided"`` otherwise, ``"failed"`` when either fit failed its diagnostics gate
    (``passed_first``, ``passed_last``), ``"no debate"`` without rounds after 0.
    """
    frame = _prepared(judgements, "logodds")
    rows = []
    for model in sorted(frame["model"].unique().to_list()):
        panel = frame.filter((pl.col("model") == model) & pl.col("source").is_in(PANEL_SOURCES))
        last = _last_round(panel)
        row: dict[str, Any] = {
            "model": model,
            "first_round": 0,
            "last_round": last,
            "threshold": threshold,
            "n_items": panel["item"].n_unique(),
            "n_personas": panel["persona"].n_unique(),
        }
        if last == 0:
            row |= dict.fromkeys(("var_first", "var_last", "ratio", "lower", "upper"), math.nan)
            row |= {"passed_first": None, "passed_last": None, "collapsed": "no debate"}
            rows.append(row)
            continue
        fits = [
            _fit(
                panel.filter(pl.col("round") == r),
                COLLAPSE_FORMULA,
                COLLAPSE_COMPONENT,
                draws=draws,
                tune=tune,
                chains=chains,
                seed=seed,
                prob=prob,
            )
            for r in (0, last)
        ]
        first, final = (_persona_item_draws(f) for f in fits)
        n = min(first.size, final.size)
        ratio = final[:n] / first[:n]
        lower, upper = (float(q) for q in np.quantile(ratio, [(1 - prob) / 2, (1 + prob) / 2]))
        passed = [bool(f.passed) for f in fits]
        if not all(passed):
            collapsed = "failed"
        elif upper < threshold:
            collapsed = "yes"
        elif lower > threshold:
            collapsed = "no"
        else:
            collapsed = "undecided"
        row |= {
            "var_first": float(np.median(first)),
            "var_last": float(np.median(final)),
            "ratio": float(np.median(ratio)),
            "lower": lower,
            "upper": upper,
            "passed_first": passed[0],
            "passed_last": passed[1],
            "collapsed": collapsed,
        }
        rows.append(row)
    return pl.DataFrame(rows, schema=_COLLAPSE_SCHEMA).select(list(_COLLAPSE_SCHEMA))


_COLLAPSE_SCHEMA = {
    "model": pl.String,
    "first_round": pl.Int64,
    "last_round": pl.Int64,
    "var_first": pl.Float64,
    "var_last": pl.Float64,
    "ratio": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
    "threshold": pl.Float64,
    "collapsed": pl.String,
    "passed_first": pl.Boolean,
    "passed_last": pl.Boolean,
    "n_items": pl.Int64,
    "n_personas": pl.Int64,
}


# -- the verdict --------------------------------------------------------------------------
def verdict(
    gain_row: Mapping[str, Any],
    collapse_row: Mapping[str, Any],
    rope: float = 0.0,
    min_persons: int = 10,
) -> tuple[str, str]:
    """C7 for one model (STUDY.md: it holds "when document personas raise alignment over
    generic ones and debate does not collapse the persona x item variance"), from a row
    of :func:`alignment_gain` and one of :func:`debate_collapse`; returns (verdict,
    reason).

    - ``"holds"``: the gain's interval lies above the ROPE (lower > ``rope``) and
      ``collapsed`` is ``"no"``;
    - ``"fails"``: either half fails: the gain's interval lies at or below the ROPE
      (upper <= ``rope``: no gain worth the name), or ``collapsed`` is ``"yes"``. A
      conjunction fails with one of its halves, so a gain at or below the ROPE fails C7
      even when the collapse fits failed (the gain's bootstrap does not use them);
    - ``"undecided at this size"`` otherwise, and always with fewer than
      ``min_persons`` persons (the bootstrap's intervals are not to be trusted).

    >>> gain = {"gain": 0.2, "lower": 0.1, "upper": 0.3, "n_persons": 40, "round": 2}
    >>> collapse = {"ratio": 0.9, "lower": 0.7, "upper": 1.1, "threshold": 0.5,
    ...             "collapsed": "no"}
    >>> verdict(gain, collapse)[0]
    'holds'
    """
    g_low, g_high = float(gain_row["lower"]), float(gain_row["upper"])
    n_persons = int(gain_row.get("n_persons") or 0)
    collapsed = str(collapse_row["collapsed"])
    gain_text = (
        f"alignment gain of document over generic personas {float(gain_row['gain']):+.3f} "
        f"[{g_low:+.3f}, {g_high:+.3f}] against a ROPE of {rope:g}"
        f" (round {gain_row.get('round', '?')}, {n_persons} persons)"
    )
    collapse_text = _collapse_text(collapse_row)
    both = f"{gain_text}; {collapse_text}"
    if n_persons < min_persons:
        return UNDECIDED, f"{n_persons} persons, fewer than the {min_persons} needed: {both}"
    if not (math.isfinite(g_low) and math.isfinite(g_high)):
        return UNDECIDED, f"no gain interval (a source without judgements?): {both}"
    if g_high <= rope:
        return FAILS, f"document personas do not raise alignment: {both}"
    if collapsed == "yes":
        return FAILS, f"debate collapses the persona x item variance: {both}"
    if collapsed == "failed":
        return UNDECIDED, f"a collapse fit failed its diagnostics, not interpreted: {both}"
    if g_low > rope and collapsed == "no":
        return HOLDS, both
    return UNDECIDED, both


def _collapse_text(row: Mapping[str, Any]) -> str:
    collapsed = str(row["collapsed"])
    if collapsed == "no debate":
        return "no debate rounds, so the collapse half was not tested"
    ratio = (
        f"persona x item variance, last round over round 0, {float(row['ratio']):.3f} "
        f"[{float(row['lower']):.3f}, {float(row['upper']):.3f}] against a collapse "
        f"threshold of {float(row['threshold']):g}"
    )
    return f"{ratio}: collapsed {collapsed}"


__all__ = [
    "DECOMPOSITION_RESIDUAL",
    "DECOMPOSITION_TERMS",
    "FAILS",
    "HOLDS",
    "PANEL_SOURCES",
    "POOLED",
    "SOURCES",
    "UNDECIDED",
    "alignment_gain",
    "alignment_table",
    "debate_collapse",
    "decompose",
    "decomposition",
    "decomposition_formula",
    "verdict",
]

"""V2, individuation: does a participant's own profile lower the NLL of their choices?

Input: long rows ``[experiment, participant, index, persona, nll]`` (and ``session``
when the data has one) with persona in {``none``, ``own``, ``other``} (other persona
values are ignored). A person is (experiment, participant); a choice is (person, session,
index), and a person's sessions share their person effect. Per choice scored under both
conditions (the arms need not hold the same participants: a contrast uses those present
in both), two contrasts (positive = the own profile helps):

- ``profile_benefit`` = NLL(none) - NLL(own): any profile at all;
- ``person_specific_benefit`` = NLL(other) - NLL(own): this person's profile rather
  than someone else's (the placebo).

Model, per contrast, participants nested in experiments, choices in participants:
``d[e, p, k] = theta_e + u_p + eps``, ``u_p ~ N(0, sigma_between_e**2)``, ``eps ~ N(0,
sigma_within_e**2)``, ``theta_e ~ N(theta, tau**2)``. Participants are integrated out
exactly through their sufficient statistics (number of choices, mean, sum of squares),
so 200,000 participants cost no more parameters than 20; the experiments' effects are
integrated out too (:func:`marginal_loglik`) and drawn afterwards from their exact
conditional distribution, so the sampler never meets the funnel between ``tau`` and
three experiments' effects. Priors, with ``s`` the SD of
the per-choice contrast: ``theta ~ N(0, s)``, ``tau``, ``sigma_between_e``,
``sigma_within_e ~ HalfStudentT(3, s)``.

Reported: the pooled benefit (``theta``, the population mean over experiments) and each
experiment's ``theta_e``, with 94% intervals and the probabilities of exceeding the
region of practical equivalence ``[-rope, rope]`` on either side.

Other contrasts (C4's interleaved vs solo, alone vs co-hosted) come through
``individuation(..., contrasts={name: (worse, better)})``: any persona labels, each
contrast being ``NLL(worse) - NLL(better)``; rows under other personas are ignored.

An experiment that cannot inform a contrast is left out of it, with a line in the
result's ``notes``: no rows under one of its conditions (no profile fields, so no `own`
prompt; no donor with a different preamble, so no `other`), no participant under both,
or a contrast without any spread within participants (identical prompts), whose
likelihood would be infinite. The posterior's per-experiment quantities run over the
(contrast, experiment) pairs kept: dimension ``group``, with coordinates
``group_contrast`` and ``group_experiment``.

:func:`cohens_d_table` gives the Psych-201 paper's statistic to compare like with like.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from study.errors import ConfigError
from study.variance.attempts import sample_until_passed, warn_if_failed
from study.variance.design import Source, first_bad_row, to_polars
from study.variance.posterior import flat
from study.variance.sampling import Sampler, SamplerSettings
from study.variance.tables import POOLED, IntervalKind, interval, resolve_interval

CONDITIONS = ("none", "own", "other")
CONTRASTS = {
    "profile_benefit": ("none", "own"),
    "person_specific_benefit": ("other", "own"),
}


@dataclass(frozen=True)
class Columns:
    """Names of the long-format columns."""

    experiment: str = "experiment"
    participant: str = "participant"
    index: str = "index"
    persona: str = "persona"
    nll: str = "nll"
    # Used when the data has it; otherwise every participant has one session.
    session: str = "session"

    def all(self) -> list[str]:
        """The required columns."""
        return [self.experiment, self.participant, self.index, self.persona, self.nll]


@dataclass
class IndividuationResult:
    """``table``: one row per contrast and experiment kept (plus the pooled row): mean,
    interval, P(> rope), P(< -rope), counts, ``passed``; ``diagnostics``; ``tree``
    (DataTree with ``theta``, ``tau`` per contrast and ``theta_experiment``,
    ``sigma_between``, ``sigma_within`` per group); ``notes``: experiments left out of a
    contrast and why, and resampling attempts."""

    table: pd.DataFrame
    diagnostics: pd.DataFrame
    passed: bool
    tree: xr.DataTree
    rope: float
    notes: list[str] = field(default_factory=list)

    @property
    def posterior(self) -> xr.Dataset:
        """The posterior group as an xarray Dataset."""
        return self.tree["posterior"].to_dataset()

    def summary(self) -> str:
        """A short text report: the gate, the benefit table, then the notes."""
        status = "PASSED" if self.passed else "FAILED"
        shown = self.table[
            [
                "contrast",
                "experiment",
                "mean",
                "lower",
                "upper",
                "p_above_rope",
                "p_below_rope",
                "n_participants",
            ]
        ]
        shown_interval = self.table["interval"].iloc[0] if len(self.table) else ""
        lines = [
            f"diagnostics {status}; {shown_interval} intervals; "
            f"ROPE +/-{self.rope:g} nats per choice",
            shown.to_string(index=False, float_format="%.4f"),
            *self.notes,
        ]
        return "\n".join(lines)

    def save(self, folder: str | Path, plots: bool = True) -> list[str]:
        """Write the fit into ``folder`` with
        :func:`study.variance.outputs.save_individuation`; return the names."""
        from study.variance.outputs import save_individuation  # it imports this module's types

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        return save_individuation(self, lambda name: folder / name, plots=plots)


def choice_table(
    data: pd.DataFrame | pl.DataFrame,
    columns: Columns,
    source: Source,
    conditions: Sequence[str] = CONDITIONS,
) -> pl.DataFrame:
    """Validated wide table: one row per choice (experiment, participant, session, index),
    one NLL column per condition (persona) of ``conditions`` present; rows under other
    personas are dropped; ``session`` is 0 when the data has none."""
    has_session = columns.session in data.columns
    wanted = columns.all() + ([columns.session] if has_session else [])
    frame = to_polars(data, wanted, source).with_row_index("_row")
    if not has_session:
        frame = frame.with_columns(pl.lit(0).alias(columns.session))
    for name in wanted:
        bad = first_bad_row(frame[name].is_null().to_numpy())
        if bad is not None:
            raise source.error(
                "missing value", row=bad, participant=frame[columns.participant][bad], column=name
            )
    nll = frame[columns.nll].cast(pl.Float64, strict=False).to_numpy()
    bad = first_bad_row(~np.isfinite(nll))
    if bad is not None:
        raise source.error(
            f"nll {frame[columns.nll][bad]!r} is not a finite number",
            row=bad,
            participant=frame[columns.participant][bad],
            column=columns.nll,
        )
    frame = frame.with_columns(
        pl.Series(columns.nll, nll),
        pl.col(columns.experiment).cast(pl.String),
        pl.col(columns.participant).cast(pl.String),
        pl.col(columns.persona).cast(pl.String),
    ).filter(pl.col(columns.persona).is_in(list(conditions)))
    keys = [
        columns.experiment,
        columns.participant,
        columns.session,
        columns.index,
        columns.persona,
    ]
    duplicated = frame.filter(pl.struct(keys).is_duplicated())
    if duplicated.height:
        row = duplicated.row(0, named=True)
        raise source.error(
            f"choice {row[columns.index]!r} of session {row[columns.session]!r} has two rows "
            f"for persona {row[columns.persona]!r}",
            row=int(row["_row"]),
            participant=row[columns.participant],
            column=columns.persona,
        )
    return frame.pivot(
        on=columns.persona, index=keys[:4], values=columns.nll, aggregate_function=None
    )


def _spread(values: pl.Series) -> float:
    """Sample SD of a numeric series (0 for fewer than two values)."""
    sd = values.std()
    return float(sd) if isinstance(sd, int | float) else 0.0


def _participant_stats(
    wide: pl.DataFrame, columns: Columns, contrasts: Mapping[str, tuple[str, str]]
) -> tuple[pl.DataFrame, list[str]]:
    """Per contrast and person (all their sessions): choices, mean and sum of squares of
    the contrast, and the contrast's per-choice SD; with the notes on experiments left
    out (see the module docstring)."""
    parts, notes = [], []
    person = [columns.experiment, columns.participant]
    experiments = sorted(set(wide[columns.experiment].to_list()))
    for name, (worse, better) in contrasts.items():
        if worse not in wide.columns or better not in wide.columns:
            continue
        diff = (pl.col(worse) - pl.col(better)).alias("d")
        per_choice = wide.select(*person, diff).drop_nulls("d")
        stats = per_choice.group_by(person).agg(
            pl.len().alias("n"),
            pl.col("d").mean().alias("mean"),
            ((pl.col("d") - pl.col("d").mean()) ** 2).sum().alias("ss"),
        )
        # An experiment's within-participant sum of squares (with degrees of freedom to
        # spare) has a scaled chi-square likelihood, degenerate at exactly 0: identical
        # prompts would give an infinite log-density.
        spreads = stats.group_by(columns.experiment).agg(
            ((pl.col("ss").sum() == 0) & ((pl.col("n") - 1).sum() > 0)).alias("no_spread")
        )
        flat_experiments = set(spreads.filter(pl.col("no_spread"))[columns.experiment].to_list())
        present = set(stats[columns.experiment].to_list())
        for experiment in experiments:
            if experiment not in present:
                why = _missing_reason(wide, columns, experiment, worse, better)
            elif experiment in flat_experiments:
                why = "the contrast does not vary within any participant (identical prompts?)"
            else:
                continue
            notes.append(f"{name}: experiment {experiment!r} left out: {why}")
        kept = pl.col(columns.experiment).is_in(list(flat_experiments)).not_()
        stats = stats.filter(kept)
        per_choice = per_choice.filter(kept)
        if stats.height:
            parts.append(
                stats.with_columns(
                    pl.lit(name).alias("contrast"),
                    pl.lit(_spread(per_choice["d"])).alias("sd"),
                )
            )
    if not parts:
        asked = " or ".join(
            f"{name} ({worse!r} vs {better!r})" for name, (worse, better) in contrasts.items()
        )
        raise ConfigError(
            f"no contrast can be formed: need, for the same participants, rows under both "
            f"personas of {asked}" + "".join(f"; {note}" for note in notes)
        )
    return pl.concat(parts).sort(["contrast", *person]), notes


def _missing_reason(
    wide: pl.DataFrame, columns: Columns, experiment: str, worse: str, better: str
) -> str:
    """Why an experiment has no choice scored under both ``worse`` and ``better``."""
    rows = wide.filter(pl.col(columns.experiment) == experiment)
    absent = [c for c in (worse, better) if rows[c].null_count() == rows.height]
    if absent:
        return f"it has no {' or '.join(repr(c) for c in absent)} rows"
    return f"no choice is scored under both {worse!r} and {better!r}"


def _checked_contrasts(
    contrasts: Mapping[str, tuple[str, str]] | None,
) -> dict[str, tuple[str, str]]:
    """The contrasts to fit (default :data:`CONTRASTS`), each a pair of two different
    persona labels."""
    if contrasts is None:
        return dict(CONTRASTS)
    if not contrasts:
        raise ConfigError("contrasts is empty: name at least one (worse, better) pair")
    checked = {}
    for name, pair in contrasts.items():
        if (
            not isinstance(pair, tuple | list)
            or len(pair) != 2
            or not all(isinstance(label, str) for label in pair)
            or pair[0] == pair[1]
        ):
            raise ConfigError(
                f"contrast {name!r} must be a pair of two different persona labels "
                f"(worse, better), got {pair!r}"
            )
        checked[str(name)] = (pair[0], pair[1])
    return checked


def individuation(
    data: pd.DataFrame | pl.DataFrame,
    *,
    contrasts: Mapping[str, tuple[str, str]] | None = None,
    columns: Columns | None = None,
    rope: float = 0.01,
    prob: float = 0.94,
    interval_kind: IntervalKind = "eti",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    cores: int | None = None,
    seed: int = 0,
    sampler: Sampler = "auto",
    target_accept: float = 0.8,
    retries: int = 1,
    progress: bool = False,
    source: str = "data frame",
    first_line: int = 1,
) -> IndividuationResult:
    """Fit V2 to long-format NLLs; ``rope`` is in NLL units per choice (nats); intervals
    are ``prob`` and ``interval_kind`` (``eti`` or ``hdi``). A fit
    that fails the gate is resampled up to ``retries`` times, as in :func:`fit`;
    ``cores`` defaults to the CPUs this process may use (at most ``chains``).

    ``contrasts`` maps a contrast's name to its ``(worse, better)`` persona labels, the
    contrast being ``NLL(worse) - NLL(better)`` per choice (default :data:`CONTRASTS`:
    the profile and person-specific benefits); only rows under those personas are read.
    """
    columns = columns or Columns()
    if rope < 0:
        raise ConfigError(f"rope must be non-negative, got {rope}")
    prob, interval_kind = resolve_interval(prob, interval_kind)
    chosen = _checked_contrasts(contrasts)
    conditions = list(dict.fromkeys(label for pair in chosen.values() for label in pair))
    wide = choice_table(data, columns, Source(source, first_line), conditions)
    stats, notes = _participant_stats(wide, columns, chosen)
    groups = stats.select("contrast", columns.experiment).unique(maintain_order=True)
    group_contrasts = groups["contrast"].to_list()
    group_experiments = groups[columns.experiment].to_list()
    fitted = list(dict.fromkeys(group_contrasts))  # the contrasts that kept an experiment
    group_keys = list(zip(group_contrasts, group_experiments, strict=True))
    position = {key: g for g, key in enumerate(group_keys)}
    group = np.array(
        [position[key] for key in zip(stats["contrast"], stats[columns.experiment], strict=True)]
    )
    # The contrast each group belongs to, for its theta and tau.
    group_contrast = np.array([fitted.index(c) for c in group_contrasts])
    n = stats["n"].to_numpy().astype(np.float64)
    scale = np.array(
        [max(float(stats.filter(pl.col("contrast") == c)["sd"][0]), 1e-6) for c in fitted]
    )
    n_groups = len(group_keys)
    dof = np.bincount(group, weights=n - 1.0, minlength=n_groups)
    ss = np.bincount(group, weights=stats["ss"].to_numpy(), minlength=n_groups)
    cells = mean_cells(stats["mean"].to_numpy(), n, group)
    coords = {
        "contrast": fitted,
        "group": [f"{c}/{e}" for c, e in group_keys],
    }
    with pm.Model(coords=coords) as model:
        theta = pm.Normal("theta", 0.0, scale, dims="contrast")
        tau = pm.HalfStudentT("tau", nu=3, sigma=scale, dims="contrast")
        group_scale = scale[group_contrast]
        sd_between = pm.HalfStudentT("sigma_between", nu=3, sigma=group_scale, dims="group")
        sd_within = pm.HalfStudentT("sigma_within", nu=3, sigma=group_scale, dims="group")
        weight = 1.0 / (sd_between[cells.group] ** 2 + sd_within[cells.group] ** 2 / cells.n)
        pm.Potential(
            "participant_means",
            marginal_loglik(
                cells, theta[group_contrast[cells.group]], weight, tau[group_contrast] ** 2
            ),
        )
        has_within = dof > 0
        pm.Potential(
            "within_ss",
            pt.sum(
                pm.logp(
                    pm.Gamma.dist(
                        alpha=dof[has_within] / 2.0, beta=0.5 / sd_within[has_within] ** 2
                    ),
                    ss[has_within],
                )
            ),
        )
    names = ["theta", "tau", "sigma_between", "sigma_within"]
    derived = ["theta", "tau", "theta_experiment", "sigma_between", "sigma_within"]
    settings = SamplerSettings(
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        seed=seed,
        sampler=sampler,
        target_accept=target_accept,
        progress=progress,
    )
    layout = GroupLayout(group_contrast, group_contrasts, group_experiments)

    attempts = sample_until_passed(
        model,
        names,
        settings,
        retries,
        derive=lambda tree: _add_experiment_means(tree, cells, layout, seed),
        gated=derived,
    )
    tree, diagnostics, passed = attempts.tree, attempts.diagnostics, attempts.passed
    posterior = tree["posterior"].to_dataset()
    table = _benefit_table(posterior, stats, columns, rope, (prob, interval_kind), passed)
    warn_if_failed(attempts, "individuation fit")
    return IndividuationResult(
        table=table,
        diagnostics=diagnostics,
        passed=passed,
        tree=tree,
        rope=rope,
        notes=[*notes, *attempts.notes],
    )


@dataclass(frozen=True)
class GroupLayout:
    """The (contrast, experiment) pairs fitted, in the order of the ``group`` dimension:
    each one's contrast (index into the ``contrast`` dimension) and names."""

    contrast_index: np.ndarray
    contrasts: list[str]
    experiments: list[str]


@dataclass(frozen=True)
class MeanCells:
    """Participants' mean contrasts pooled by (group, choices per participant), a group
    being one contrast in one experiment. Participants in a cell share their variance,
    so these sums are all the marginal likelihood needs: its cost grows with the cells
    (a handful per experiment), not with the participants."""

    group: np.ndarray
    n: np.ndarray
    count: np.ndarray
    sum: np.ndarray
    sum_sq: np.ndarray


def mean_cells(means: np.ndarray, n: np.ndarray, group: np.ndarray) -> MeanCells:
    """Pool participants' ``means`` (of ``n`` choices each, in ``group``) into cells.

    >>> means, n = np.array([1.0, 2.0, 4.0]), np.array([5.0, 5.0, 3.0])
    >>> cells = mean_cells(means, n, group=np.array([0, 0, 0]))
    >>> cells.n.tolist(), cells.count.tolist(), cells.sum.tolist(), cells.sum_sq.tolist()
    ([3.0, 5.0], [1.0, 2.0], [4.0, 3.0], [16.0, 5.0])
    """
    keys, inverse = np.unique(np.column_stack([group, n]), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, weights=values, minlength=len(keys))

    return MeanCells(
        group=keys[:, 0].astype(np.int64),
        n=keys[:, 1],
        count=total(np.ones_like(means)),
        sum=total(means),
        sum_sq=total(means**2),
    )


def marginal_loglik(cells: MeanCells, theta, weight, tau2):
    """Log-likelihood of participants' mean contrasts with each experiment's effect
    integrated out (up to a constant); ``theta`` and ``weight`` (one over a participant's
    variance) per cell, ``tau2`` per group.

    Within group g the means ``y_p`` are jointly normal around ``theta``: covariance
    ``diag(1 / w_p) + tau**2`` everywhere, since all share the experiment's effect. By the
    matrix determinant lemma and Sherman-Morrison, with ``W_g = sum w_p`` and ``S_g = sum
    w_p (y_p - theta)``: ``-1/2 [sum log(1/w_p) + log(1 + tau**2 W_g) + sum w_p (y_p -
    theta)**2 - tau**2 S_g**2 / (1 + tau**2 W_g)]``, each sum taken cell by cell. With the
    experiments integrated out the sampler sees only theta, tau and the SDs: no funnel
    between tau (barely identified by three experiments) and the experiments' effects.
    """
    residual_sum = cells.sum - cells.count * theta
    residual_sq = cells.sum_sq - 2.0 * theta * cells.sum + cells.count * theta**2
    n_groups = tau2.shape[0]
    total_weight = pt.inc_subtensor(pt.zeros(n_groups)[cells.group], cells.count * weight)
    weighted_sum = pt.inc_subtensor(pt.zeros(n_groups)[cells.group], weight * residual_sum)
    spread = 1.0 + tau2 * total_weight
    return -0.5 * (
        pt.sum(-cells.count * pt.log(weight))
        + pt.sum(pt.log(spread))
        + pt.sum(weight * residual_sq)
        - pt.sum(tau2 * weighted_sum**2 / spread)
    )


def normal_draw(
    prior_mean: np.ndarray | float,
    prior_var: np.ndarray | float,
    total_weight: np.ndarray | float,
    weighted_sum: np.ndarray | float,
    rng: np.random.Generator,
) -> np.ndarray:
    """One draw (per element) of a normal mean from its exact conditional distribution:
    prior ``N(prior_mean, prior_var)``, observations of precisions ``w_p`` summing to
    ``total_weight`` with ``weighted_sum = sum w_p y_p``; the posterior is normal with
    precision ``1 / prior_var + total_weight`` and mean ``(prior_mean / prior_var +
    weighted_sum)`` over that precision. Arrays broadcast.

    >>> rng = np.random.default_rng(0)
    >>> draws = normal_draw(np.zeros(20000), 1.0, 3.0, 6.0, rng)  # posterior N(1.5, 0.25)
    >>> round(float(draws.mean()), 1), round(float(draws.std()), 1)
    (1.5, 0.5)
    """
    precision = 1.0 / prior_var + total_weight
    centre = (prior_mean / prior_var + weighted_sum) / precision
    return centre + rng.standard_normal(np.shape(centre)) / np.sqrt(precision)


def _add_experiment_means(
    tree: xr.DataTree, cells: MeanCells, layout: GroupLayout, seed: int
) -> xr.DataTree:
    """Draw each group's (experiment's, in one contrast) mean benefit ``theta_experiment``
    from its exact conditional distribution given the sampled theta, tau and SDs, per
    posterior draw (:func:`normal_draw`). Labels each group with its contrast and
    experiment (coordinates ``group_contrast``, ``group_experiment``)."""
    posterior = tree["posterior"].to_dataset()
    rng = np.random.default_rng([seed, 11])
    between = posterior["sigma_between"].values
    within = posterior["sigma_within"].values
    n_groups = between.shape[-1]
    tau2 = posterior["tau"].values[..., layout.contrast_index] ** 2
    theta = posterior["theta"].values[..., layout.contrast_index]
    membership = np.eye(n_groups)[cells.group]  # cells x groups, for the group sums
    weight = 1.0 / (between[..., cells.group] ** 2 + within[..., cells.group] ** 2 / cells.n)
    total_weight = (weight * cells.count) @ membership
    weighted_sum = (weight * cells.sum) @ membership
    effect = normal_draw(theta, tau2, total_weight, weighted_sum, rng)
    posterior["theta_experiment"] = (("chain", "draw", "group"), effect)
    posterior = posterior.assign_coords(
        group_contrast=("group", layout.contrasts),
        group_experiment=("group", layout.experiments),
    )
    tree["posterior"] = xr.DataTree(posterior)
    return tree


def _benefit_table(
    posterior: xr.Dataset,
    stats: pl.DataFrame,
    columns: Columns,
    rope: float,
    ci: tuple[float, IntervalKind],
    passed: bool,
) -> pd.DataFrame:
    """One row per contrast and experiment (and pooled): mean, interval, the posterior
    probabilities beyond the ROPE on either side (the share of draws, which is what
    ``arviz_stats`` has no function for: its ``ci_in_rope`` is the interval's share
    inside the ROPE), counts."""
    prob, kind = ci
    rows = []
    group_contrast = posterior["group_contrast"].values
    for contrast in posterior["contrast"].values:
        subset = stats.filter(pl.col("contrast") == contrast)
        draws_by_row = [(POOLED, flat(posterior["theta"].sel(contrast=contrast)), subset)]
        for label in posterior["group"].values[group_contrast == contrast]:
            group = posterior["theta_experiment"].sel(group=label)
            experiment = str(group["group_experiment"].values)
            draws_by_row.append(
                (experiment, flat(group), subset.filter(pl.col(columns.experiment) == experiment))
            )
        for experiment, draws, counted in draws_by_row:
            low, high = interval(draws, prob, kind)
            rows.append(
                {
                    "contrast": str(contrast),
                    "experiment": str(experiment),
                    "mean": float(draws.mean()),
                    "lower": low,
                    "upper": high,
                    "p_above_rope": float(np.mean(draws > rope)),
                    "p_below_rope": float(np.mean(draws < -rope)),
                    "n_participants": int(counted.height),
                    "n_choices": int(counted["n"].sum()),
                }
            )
    table = pd.DataFrame(rows)
    table["interval"] = f"{round(prob * 100)}% {kind.upper()}"
    table["passed"] = passed
    return table


def cohens_d_table(
    data: pd.DataFrame | pl.DataFrame,
    *,
    columns: Columns | None = None,
    unit: str = "participant",
    conditions: tuple[str, str] = ("none", "own"),
    source: str = "data frame",
    first_line: int = 1,
) -> pd.DataFrame:
    """Per experiment, the Psych-201 paper's statistic
    ``d = (mean NLL_none - mean NLL_own) / sqrt((sd_none**2 + sd_own**2) / 2)``.

    ``unit="participant"`` (default): means and SDs are over participants' mean NLL per
    choice, the participant being the unit the paper's per-participant evaluation scores;
    ``unit="choice"``: over individual choices. Only choices scored under both
    conditions count. Positive d: the profile lowers the NLL.
    """
    columns = columns or Columns()
    if unit not in {"participant", "choice"}:
        raise ConfigError(f"unit must be 'participant' or 'choice', got {unit!r}")
    worse, better = conditions
    wide = choice_table(data, columns, Source(source, first_line))
    missing = [c for c in conditions if c not in wide.columns]
    if missing:
        raise ConfigError(f"no rows with persona {missing}")
    both = wide.drop_nulls([worse, better])
    if unit == "participant":
        both = both.group_by([columns.experiment, columns.participant]).agg(
            pl.col(worse).mean(), pl.col(better).mean(), pl.len().alias("_choices")
        )
    else:
        both = both.with_columns(pl.lit(1).alias("_choices"))
    table = (
        both.group_by(columns.experiment)
        .agg(
            pl.col(columns.participant).n_unique().alias("n_participants"),
            pl.col("_choices").sum().alias("n_choices"),
            pl.col(worse).mean().alias(f"mean_{worse}"),
            pl.col(better).mean().alias(f"mean_{better}"),
            pl.col(worse).std().alias(f"sd_{worse}"),
            pl.col(better).std().alias(f"sd_{better}"),
        )
        .sort(columns.experiment)
    )
    pooled_sd = ((pl.col(f"sd_{worse}") ** 2 + pl.col(f"sd_{better}") ** 2) / 2).sqrt()
    table = table.with_columns(
        ((pl.col(f"mean_{worse}") - pl.col(f"mean_{better}")) / pooled_sd).alias("d"),
        pl.lit(unit).alias("unit"),
    )
    return table.rename({columns.experiment: "experiment"}).to_pandas()

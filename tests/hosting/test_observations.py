"""The rows C4's estimators read, built from hand-made response rows whose answer is
known: leakage's (x, y), the cross-talk changes and V2's condition names."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from study.hosting.config import FitSettings
from study.hosting.observations import contrast_rows, crosstalk_rows, leakage_rows
from study.hosting.respond import SCORE_SCHEMA
from study.hosting.verdicts import row_verdict


def _row(design: str, slot: str, logprobs: list[float] | None, **extra) -> dict:
    row = {
        "design": design,
        "experiment": "e",
        "participant": "1",
        "session": 0,
        "choice": 0,
        "target": "1",
        "slot": slot,
        "name": f"{design}:{slot}",
        "k": 1,
        "target_slot": 0,
        "position": "",
        "partners": "",
        "slots": "1",
        "swap": "",
        "probed": False,
        "response": "A",
        "nll": 0.5,
        "n_tokens": 1,
        "options": None if logprobs is None else ["A", "B", "C"][: len(logprobs)],
        "logprobs": logprobs,
        "tokens_evaluated": 10,
        "prompt_tokens": 10,
        "request_key": "k",
    }
    row.update(extra)
    return row


def _frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCORE_SCHEMA)


def _log_softmax(z: list[float]) -> list[float]:
    z_arr = np.asarray(z)
    return list(z_arr - np.log(np.exp(z_arr).sum()))


def test_leakage_rows_are_the_mixture_coordinates() -> None:
    own, partner_2, partner_3 = [0.0, 1.0, -1.0], [0.0, -2.0, 0.5], [0.0, 0.4, 2.0]
    weight = 0.3
    mixed = [
        (1 - weight) * o + weight * (a + b) / 2
        for o, a, b in zip(own, partner_2, partner_3, strict=True)
    ]
    rows = [
        _row("alone", "own", _log_softmax(own)),
        _row("alone", "partner", _log_softmax(partner_2), slots="2"),
        _row("alone", "partner", _log_softmax(partner_3), slots="3"),
        _row("cohosted", "own", _log_softmax(mixed), k=3, slots="2,1,3", target_slot=1),
    ]
    found = leakage_rows(_frame(rows))
    assert found.height == 2  # three options: two log-odds coordinates
    assert found["person"].to_list() == ["e/1", "e/1"]
    # y = weight * x exactly, coordinate by coordinate.
    np.testing.assert_allclose(found["y"].to_numpy(), weight * found["x"].to_numpy(), atol=1e-12)
    # Every first option's logit is 0, so the log-odds are the other logits themselves.
    partners = (np.array(partner_2) + np.array(partner_3)) / 2
    np.testing.assert_allclose(found["x"].to_numpy(), (partners - np.array(own))[1:], atol=1e-12)


def test_leakage_skips_a_cohosted_span_missing_a_partner_baseline() -> None:
    rows = [
        _row("alone", "own", _log_softmax([0.0, 1.0])),
        _row("cohosted", "own", _log_softmax([0.0, 0.5]), k=2, slots="1,2"),
    ]
    assert leakage_rows(_frame(rows)).height == 0


def test_leakage_without_options_uses_the_response_log_probability() -> None:
    rows = [
        _row("alone", "other", None, nll=1.0, slots="9"),
        _row("alone", "partner", None, nll=3.0, slots="2"),
        _row("cohosted", "other", None, nll=1.5, k=2, slots="9,2"),
    ]
    found = leakage_rows(_frame(rows))
    assert found["x"].to_list() == [-2.0]  # -3 - (-1)
    assert found["y"].to_list() == [-0.5]  # -1.5 - (-1)


def test_crosstalk_rows_measure_the_change_of_the_probed_choice() -> None:
    base = [0.0, 1.0]
    cross = [0.0, 1.2]  # partner's swap moves the log-odds by 0.2
    own = [0.0, 2.0]  # own swap moves them by 1.0
    common = {"choice": 3}
    rows = [
        _row("interleaved", "none", _log_softmax(base), **common),
        _row("interleaved", "none", _log_softmax([0.0, 0.0]), participant="2", **common),
        _row("probe", "none", _log_softmax(cross), swap="ct", probed=True, **common),
        _row("probe", "none", _log_softmax(own), swap="ss", probed=True, **common),
        _row("probe", "none", _log_softmax([5.0, 0.0]), swap="ct", choice=2),  # not probed
    ]
    found = crosstalk_rows(_frame(rows))
    assert found.height == 1
    # Centred log-probabilities of two options move by +-change/2: the norm is change/sqrt2.
    assert math.isclose(found["ct"][0], 0.2 / math.sqrt(2), rel_tol=1e-9)
    assert math.isclose(found["ss"][0], 1.0 / math.sqrt(2), rel_tol=1e-9)


def test_contrast_rows_average_cohosted_settings_and_keep_own_spans() -> None:
    rows = [
        _row("alone", "own", None, nll=1.0),
        _row("alone", "partner", None, nll=9.0, slots="2"),  # a baseline, not a condition
        _row("cohosted", "own", None, nll=2.0, k=2, position="first"),
        _row("cohosted", "own", None, nll=4.0, k=2, position="last"),
        _row("interleaved", "none", None, nll=5.0),
        _row("interleaved", "none", None, nll=7.0, participant="2"),  # the partner's span
        _row("solo", "none", None, nll=6.0),
    ]
    found = contrast_rows(_frame(rows))
    by_persona = dict(zip(found["persona"], found["nll"], strict=True))
    assert by_persona == {"alone:own": 1.0, "cohosted:own": 3.0, "interleaved": 5.0, "solo": 6.0}


@pytest.mark.parametrize(
    ("statistic", "interval", "verdict"),
    [
        ("crosstalk_ratio", (0.02, 0.3), "undecided at this size"),
        ("crosstalk_ratio", (0.3, 0.5), "fails (personas blend: above 0.25)"),
        ("leakage", (0.0, 0.2), "no blend (below 0.25)"),
        ("delta_nll", (-0.005, 0.004), "holds (inside the ROPE)"),
        ("delta_nll", (0.05, 0.2), "fails (outside the ROPE)"),
        ("benefit_alone", (-0.5, 0.5), "undecided at this size"),
    ],
)
def test_row_verdicts_follow_the_thresholds(
    statistic: str, interval: tuple[float, float], verdict: str
) -> None:
    assert row_verdict(statistic, *interval, FitSettings(rope=0.01)) == verdict


def _estimate(statistic: str, experiment: str, lower: float, upper: float) -> dict:
    middle = (lower + upper) / 2
    return {
        "statistic": statistic,
        "experiment": experiment,
        "estimate": middle,
        "lower": lower,
        "upper": upper,
        "diagnostics": "passed",
    }


def test_c4_verdict_reads_one_experiment_from_its_own_row() -> None:
    import pandas as pd

    from study.hosting.verdicts import c4_verdict

    settings = FitSettings(rope=0.01)
    one = pd.DataFrame(
        [
            _estimate("delta_nll", "(pooled)", -0.5, 0.5),  # the prior's spread, not evidence
            _estimate("delta_nll", "e", -0.004, 0.006),
            _estimate("crosstalk_ratio", "(pooled)", 0.01, 0.05),
            _estimate("crosstalk_ratio", "e", 0.01, 0.05),
            _estimate("leakage", "(pooled)", -0.8, 0.8),
            _estimate("leakage", "e", 0.0, 0.1),
        ]
    )
    assert c4_verdict(one, settings) == "holds"
    blended = one.copy()
    blended.loc[5, ["lower", "upper"]] = [0.3, 0.5]
    assert c4_verdict(blended, settings) == "fails (the personas blend)"
    # Two experiments: the pooled rows decide.
    two = pd.concat([one, pd.DataFrame([_estimate("delta_nll", "f", 0.0, 0.001)])])
    assert c4_verdict(two, settings) == "undecided at this size"
    failed = one.copy()
    failed.loc[1, "diagnostics"] = "FAILED"
    assert c4_verdict(failed, settings).startswith("FAILED")

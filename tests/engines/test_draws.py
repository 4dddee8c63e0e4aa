"""The two-level inverse-CDF draw against a one-level reference and against truth."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from study.engines.draws import BLOCK, TokenDistribution, choice_stream, run_stream


def reference_draw(logits: np.ndarray, temperature: float, u: float) -> int:
    """Inverse CDF over one running sum of the whole vocabulary."""
    top = np.float32(logits.max())
    weights = np.exp((logits - top) * np.float32(1.0 / temperature))
    cumulative = np.cumsum(weights, dtype=np.float64)
    return int(np.searchsorted(cumulative, u * cumulative[-1], side="right"))


class FixedUniform:
    """A stream whose next uniform is given (the edges a real stream rarely hits)."""

    def __init__(self, u: float) -> None:
        self.u = u

    def random(self) -> float:
        return self.u


@pytest.mark.parametrize("size", [5, BLOCK, 3 * BLOCK + 17, 49_152])
@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_draws_match_a_single_running_sum(size: int, temperature: float) -> None:
    logits = (np.random.default_rng(size).standard_normal(size) * 4).astype(np.float32)
    distribution = TokenDistribution(logits, temperature)
    uniforms = np.random.default_rng(1).random(2000)
    drawn = [distribution.draw(FixedUniform(u)) for u in uniforms]  # type: ignore[arg-type]
    expected = [reference_draw(logits, temperature, u) for u in uniforms]
    assert drawn == expected


def test_frequencies_follow_the_softmax() -> None:
    logits = np.full(4 * BLOCK + 3, -np.inf, dtype=np.float32)
    chosen = np.array([0, 2, BLOCK - 1, BLOCK, 3 * BLOCK + 1, 4 * BLOCK + 2])
    logits[chosen] = np.log([0.05, 0.1, 0.15, 0.2, 0.3, 0.2]).astype(np.float32)
    distribution = TokenDistribution(logits, 1.0)
    stream = run_stream(11)
    draws = np.array([distribution.draw(stream) for _ in range(30_000)])
    assert set(np.unique(draws)) <= set(chosen.tolist())
    observed = np.array([(draws == token).sum() for token in chosen])
    expected = np.array([0.05, 0.1, 0.15, 0.2, 0.3, 0.2]) * draws.size
    assert stats.chisquare(observed, expected).pvalue > 1e-3


@pytest.mark.parametrize("u", [0.0, 1.0 - 2.0**-53])
def test_edges_never_return_a_token_of_zero_weight(u: float) -> None:
    logits = np.full(3 * BLOCK, -np.inf, dtype=np.float32)
    logits[[BLOCK + 5, BLOCK + 9]] = 0.0
    distribution = TokenDistribution(logits, 1.0)
    token = distribution.draw(FixedUniform(u))  # type: ignore[arg-type]
    assert token == (BLOCK + 5 if u == 0.0 else BLOCK + 9)


def test_greedy_takes_the_first_highest_logit_and_no_random_number() -> None:
    logits = np.array([0.0, 3.0, 3.0, 1.0], dtype=np.float32)
    stream = choice_stream(5, 2)
    before = stream.bit_generator.state
    assert TokenDistribution(logits, 0.0).draw(stream) == 1
    assert stream.bit_generator.state == before

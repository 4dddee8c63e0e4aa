import math

import numpy as np
import pytest

from study.cognitive.fit import maximum_likelihood, negative_log_likelihood
from study.cognitive.frequency import Frequency, smoothed_frequencies
from study.cognitive.probability_matching import ProbabilityMatching
from study.cognitive.q_learning import QLearning
from study.cognitive.trials import Trials
from tests.cognitive.helpers import simulate_bandit


@pytest.mark.parametrize(
    ("truth", "seeds"),
    [((0.3, 5.0, 1.0), (0, 1, 2)), ((0.7, 2.5, -1.0), (3,))],
)
def test_q_learner_recovers_its_parameters(truth, seeds):
    # 400 simulated trials per participant; stated tolerance: alpha +-0.15, beta +-1.5,
    # kappa +-0.6 (the spread of the estimates over simulation seeds is about half that).
    learner = QLearning()
    for seed in seeds:
        trials = simulate_bandit(*truth, trials=400, seed=seed)
        theta, value = maximum_likelihood(learner.probabilities, learner.bounds, trials, 4, 0)
        assert abs(theta[0] - truth[0]) < 0.15
        assert abs(theta[1] - truth[1]) < 1.5
        assert abs(theta[2] - truth[2]) < 0.6
        assert value <= negative_log_likelihood(learner.probabilities, truth, trials) + 1e-6


def test_q_learner_probabilities_follow_rewards_and_blocks():
    learner = QLearning()
    trials = Trials((("L", "R"),) * 3, np.array([1, 1, 1]), np.array([1.0, 1.0, 1.0]))
    p = learner.probabilities((0.5, 4.0, 0.0), trials)
    assert np.allclose(p.sum(axis=1), 1.0)
    # R rewarded twice: Q_R = 0.5 then 0.75, so P(R) = expit(4 Q_R).
    assert p[1, 1] == pytest.approx(1 / (1 + math.exp(-2.0)))
    assert p[2, 1] == pytest.approx(1 / (1 + math.exp(-3.0)))
    blocked = Trials(trials.offered, trials.chosen, trials.rewards, ("1", "1", "2"))
    # A new block forgets the values: only perseveration (here none) is left.
    assert learner.probabilities((0.5, 4.0, 0.0), blocked)[2, 1] == pytest.approx(0.5)
    assert learner.probabilities((0.5, 0.0, 1.5), blocked)[2, 1] == pytest.approx(
        1 / (1 + math.exp(-1.5))
    )


def test_probability_matching_recovers_the_majority_probability():
    rng = np.random.default_rng(7)
    letters = [tuple(rng.choice(list("ABCDEFGH"), 2, replace=False)) for _ in range(2000)]
    chosen = (rng.random(2000) >= 0.7).astype(np.int64)  # 0: the majority letter
    trials = Trials(tuple(letters), chosen)
    matcher = ProbabilityMatching()
    (p,), _ = maximum_likelihood(matcher.probabilities, ((0.01, 0.99),), trials, 3, 0)
    assert p == pytest.approx(0.7, abs=0.03)  # sd of the estimate ~0.01
    assert p == pytest.approx(1 - chosen.mean(), abs=1e-4)  # the closed-form MLE


def test_probability_matching_stays_inside_the_floor():
    trials = Trials((("O", "Q"),) * 4, np.zeros(4, dtype=np.int64))
    matcher = ProbabilityMatching()
    (p,), _ = maximum_likelihood(matcher.probabilities, ((0.01, 0.99),), trials, 2, 0)
    assert p == pytest.approx(0.99)


def test_frequency_smoothing_arithmetic():
    trials = Trials((("down", "left", "right"),) * 5, np.array([0, 0, 0, 1, 0]))
    # Counts 4, 1, 0 of 5, add-one: 5/8, 2/8, 1/8.
    assert smoothed_frequencies(trials, 1.0) == pytest.approx((5 / 8, 2 / 8, 1 / 8))
    # Pseudocount 0.5: (4.5, 1.5, 0.5) / 6.5.
    assert smoothed_frequencies(trials, 0.5) == pytest.approx((4.5 / 6.5, 1.5 / 6.5, 0.5 / 6.5))
    assert smoothed_frequencies(trials, 0.0) == pytest.approx((0.8, 0.2, 0.0))
    p = Frequency().probabilities((0.5, 0.3, 0.2), trials)
    assert p.shape == (5, 3) and np.allclose(p.sum(axis=1), 1.0)


def test_fitting_is_deterministic_and_starts_matter_only_by_seed():
    learner = QLearning()
    trials = simulate_bandit(0.4, 3.0, 0.5, trials=200, seed=11)
    first = maximum_likelihood(learner.probabilities, learner.bounds, trials, 3, 5)
    again = maximum_likelihood(learner.probabilities, learner.bounds, trials, 3, 5)
    assert first == again
    with pytest.raises(ValueError, match="starts"):
        maximum_likelihood(learner.probabilities, learner.bounds, trials, 0, 5)

"""The C5 baseline for one participant: fit on the first K choices, score the rest.

:func:`heldout_nll` picks the experiment's model from the config (the ``frequency``
fallback, with a note, when the experiment is not listed), reads the trials, fits by
maximum likelihood (``frequency``: smoothed counts) on choices ``0 .. K-1`` and returns
the NLL (natural log) of each held-out choice ``K ..`` under one-step-ahead predictions
given the true history, as the language model is scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from study.cognitive.config import CognitiveConfig, ExperimentModelConfig
from study.cognitive.fit import maximum_likelihood
from study.cognitive.frequency import Frequency, smoothed_frequencies
from study.cognitive.probability_matching import ProbabilityMatching
from study.cognitive.q_learning import QLearning
from study.cognitive.trials import Trials, bandit_trials, deck_trials, option_trials
from study.data.options import options_for
from study.errors import ConfigError, StudyInputError
from study.fitted.split import split_participant
from study.records import Participant

MODELS = ("q_learning", "probability_matching", "frequency")


@dataclass(frozen=True)
class CognitiveResult:
    """One participant's (session's) held-out scores under its fitted cognitive model.

    ``indices`` are the held-out choices' ``ChoicePoint.index`` values (``K ..``);
    ``nll[i]`` is ``-log P(response)`` of choice ``indices[i]`` and ``probabilities[i]``
    the model's distribution over the options that choice offered (the option set, or
    for ``probability_matching`` the trial's majority and minority letters); it sums to 1.
    ``parameters`` are the fitted values by name; ``note`` says when the fallback was used.
    """

    experiment: str
    participant: str
    session: int
    model: str
    k: int
    parameters: dict[str, float]
    indices: tuple[int, ...]
    nll: tuple[float, ...]
    probabilities: tuple[dict[str, float], ...]
    note: str = ""

    @property
    def mean_nll(self) -> float:
        """Mean NLL per held-out choice."""
        return float(np.mean(self.nll))


def model_for(experiment: str, config: CognitiveConfig) -> tuple[ExperimentModelConfig, str]:
    """The experiment's model settings and a note ("" when configured explicitly)."""
    if experiment in config.experiments:
        chosen = config.experiments[experiment]
        note = ""
    else:
        chosen = ExperimentModelConfig(model=config.default_model)
        note = f"experiment not in the cognitive config: default model {config.default_model!r}"
    if chosen.model not in MODELS:
        raise ConfigError(
            f"cognitive model {chosen.model!r} for experiment {experiment!r} is unknown; "
            f"known: {', '.join(MODELS)}"
        )
    return chosen, note


def heldout_nll(
    participant: Participant,
    split: int | float,
    config: CognitiveConfig,
    options: tuple[str, ...] | None = None,
) -> CognitiveResult:
    """Fit the experiment's cognitive model on ``participant``'s first K choices (K from
    ``split``, see :mod:`study.fitted.split`) and score the held-out rest.

    ``options``: the option set (default :func:`study.data.options_for`); a participant
    with none (free text) is an input error, as is a response outside it or a configured
    text pattern that fails on a trial.

    >>> from study.data.loader import SHIPPED_DATA, iter_participants
    >>> person = next(iter_participants(SHIPPED_DATA / "thoma2025riskychoice", limit=1))
    >>> result = heldout_nll(person, 0.5, CognitiveConfig())
    >>> result.model, result.k, result.indices, round(result.parameters["p_majority"], 3)
    ('probability_matching', 4, (4, 5, 6, 7, 8), 0.75)
    """
    settings, note = model_for(participant.experiment, config)
    k = split_participant(participant, split)
    if settings.model == "probability_matching":
        trials = deck_trials(participant, settings)
    else:
        options = options if options is not None else options_for(participant)
        if not options:
            raise StudyInputError(
                "no option set (not a discrete-choice experiment): a cognitive model needs one",
                file=participant.source,
                line=participant.line,
                participant=participant.participant,
                field="text",
            )
        if settings.model == "q_learning":
            trials = bandit_trials(participant, options, settings)
        else:
            trials = option_trials(participant, options)
    names, theta, probabilities = _fit_and_predict(settings.model, trials, k, config)
    chosen = probabilities[np.arange(len(trials)), trials.chosen]
    held = range(k, len(trials))
    return CognitiveResult(
        experiment=participant.experiment,
        participant=participant.participant,
        session=participant.session,
        model=settings.model,
        k=k,
        parameters=dict(zip(names, theta, strict=True)),
        indices=tuple(participant.choices[i].index for i in held),
        nll=tuple(float(-np.log(chosen[i])) for i in held),
        probabilities=tuple(
            dict(zip(trials.offered[i], probabilities[i].tolist(), strict=True)) for i in held
        ),
        note=note,
    )


def _fit_and_predict(
    model: str, trials: Trials, k: int, config: CognitiveConfig
) -> tuple[tuple[str, ...], tuple[float, ...], np.ndarray]:
    head = trials.head(k)
    if model == "frequency":
        theta = smoothed_frequencies(head, config.pseudocount)
        names = tuple(f"p({option})" for option in trials.offered[0])
        return names, theta, Frequency().probabilities(theta, trials)
    if model == "q_learning":
        learner = QLearning()
        theta, _ = maximum_likelihood(
            learner.probabilities, learner.bounds, head, config.starts, config.seed
        )
        return learner.names, theta, learner.probabilities(theta, trials)
    matcher = ProbabilityMatching()
    floor = config.probability_floor
    theta, _ = maximum_likelihood(
        matcher.probabilities, ((floor, 1.0 - floor),), head, config.starts, config.seed
    )
    return matcher.names, theta, matcher.probabilities(theta, trials)

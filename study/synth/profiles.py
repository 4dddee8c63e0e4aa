"""Synthetic participants' profiles and how they drive person parameters.

Every synthetic person has an age, a gender, a diagnosis and a questionnaire score.
Three of them carry an effect on the task's person parameter (on its link scale):

    eta = strength * (0.6 * z_age - 0.8 * [Depression] + 0.4 * [Bipolar] - 0.5 * z_score)

with ``z`` standardised by the population the generator draws from, and gender a
field with no effect (a negative control). ``strength = 0`` makes the profile pure
noise. The profile as written to the transcript file loses a few questionnaire scores
("nan", missing completely at random) and stores the age as text, as real Psych-201
files do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

AGE_RANGE = (18.0, 70.0)
AGE_MEAN = sum(AGE_RANGE) / 2
AGE_SD = (AGE_RANGE[1] - AGE_RANGE[0]) / np.sqrt(12.0)
SCORE_MEAN, SCORE_SD = 40.0, 10.0
DIAGNOSES = ("Healthy", "Depression", "Bipolar")
GENDERS = ("Female", "Male")
# Effect of each coded field on the person parameter's link scale, per unit strength.
WEIGHTS = {"age": 0.6, "diagnosis[Depression]": -0.8, "diagnosis[Bipolar]": 0.4, "score": -0.5}
MISSING_SCORE_SHARE = 0.05


@dataclass(frozen=True)
class Profiles:
    """True profile values of N people and their coded design matrix."""

    age: np.ndarray
    gender: np.ndarray
    diagnosis: np.ndarray
    score: np.ndarray
    score_reported: np.ndarray  # False where the file says "nan"

    def design(self) -> np.ndarray:
        """Coded fields in the order of :data:`WEIGHTS` (N x 4)."""
        return np.column_stack(
            [
                (self.age - AGE_MEAN) / AGE_SD,
                self.diagnosis == "Depression",
                self.diagnosis == "Bipolar",
                (self.score - SCORE_MEAN) / SCORE_SD,
            ]
        ).astype(float)

    def linear_predictor(self, strength: float) -> np.ndarray:
        """``eta`` above: the profile's contribution to each person's parameter."""
        return strength * self.design() @ np.array(list(WEIGHTS.values()))

    def record_fields(self, i: int) -> dict[str, object]:
        """Person ``i``'s profile as the transcript file stores it."""
        return {
            "age": f"{self.age[i]:.1f}",
            "gender": str(self.gender[i]),
            "diagnosis": str(self.diagnosis[i]),
            "questionnaire_score": (
                round(float(self.score[i]), 1) if self.score_reported[i] else "nan"
            ),
        }


def draw_profiles(rng: np.random.Generator, n: int) -> Profiles:
    """Independent draws of each field (so each effect is identifiable on its own)."""
    age = np.round(rng.uniform(*AGE_RANGE, size=n), 1)
    gender = rng.choice(np.array(GENDERS), size=n)
    diagnosis = rng.choice(np.array(DIAGNOSES), size=n)
    score = np.round(rng.normal(SCORE_MEAN, SCORE_SD, size=n), 1)
    reported = rng.uniform(size=n) >= MISSING_SCORE_SHARE
    return Profiles(age, gender, diagnosis, score, reported)


def coding() -> dict[str, object]:
    """How the fields are coded in :meth:`Profiles.design` (written to truth.json)."""
    return {
        "age": {"field": "age", "centre": AGE_MEAN, "scale": float(AGE_SD)},
        "diagnosis[Depression]": {"field": "diagnosis", "indicator": "Depression"},
        "diagnosis[Bipolar]": {"field": "diagnosis", "indicator": "Bipolar"},
        "score": {"field": "questionnaire_score", "centre": SCORE_MEAN, "scale": SCORE_SD},
    }

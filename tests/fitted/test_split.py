"""Where a participant's choices split (study.fitted.split): counts, fractions, edge cases."""

import pytest

from study.errors import ConfigError, StudyInputError
from study.fitted.split import check_split, split_index, split_participant
from tests.cognitive.helpers import participant


@pytest.mark.parametrize(
    ("n", "split", "k"),
    [(10, 3, 3), (10, 9, 9), (10, 0.5, 5), (9, 0.5, 4), (9, 0.99, 8), (10, 0.01, 1), (2, 0.5, 1)],
)
def test_count_and_fraction(n, split, k):
    assert split_index(n, split) == k


@pytest.mark.parametrize("split", [0, -1, 0.0, 1.0, 1.5, 2.0, True, "half", None])
def test_bad_split_values_are_config_errors(split):
    with pytest.raises(ConfigError, match="split"):
        check_split(split)


@pytest.mark.parametrize(("n", "split"), [(10, 10), (10, 11), (1, 0.5), (1, 1), (0, 0.5)])
def test_nothing_left_to_hold_out(n, split):
    with pytest.raises(StudyInputError, match="no held-out choice"):
        split_index(n, split)


def test_error_names_the_participant():
    person = participant("e", ["a ", " b"], ["x"])
    with pytest.raises(StudyInputError) as caught:
        split_participant(person, 0.5)
    assert str(caught.value).startswith("made.jsonl:3: participant 'p1', field 'text':")

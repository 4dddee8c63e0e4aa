"""C6 inputs: the activations' keys and the role texts config, with errors that name
what is wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from study.errors import ConfigError, StudyInputError
from study.persona_space import activation_set, load_config, role_personas
from study.persona_space.config import PersonaSpaceConfig, check

DEFAULT = Path(__file__).resolve().parents[2] / "conf" / "persona_space" / "default.yaml"


def keys(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {"experiment": "e", "participant": 7, "condition": "none", "index": range(n)}
    )


def test_persons_are_experiment_and_participant_pairs():
    frame = pd.concat([keys(2), keys(2).assign(experiment="f")], ignore_index=True)
    acts = activation_set(frame, np.zeros((4, 3, 2), dtype=np.float16), layers=[4, 8, 12])
    assert acts.keys["person"].n_unique() == 2
    assert acts.middle_layer() == 8 and acts.layer(12).dtype == np.float64
    with pytest.raises(ValueError, match="layer 5 was not recorded"):
        acts.layer(5)


def test_bad_keys_and_arrays_are_named():
    values = np.zeros((3, 2, 4), dtype=np.float32)
    with pytest.raises(StudyInputError, match=r"acts:3: participant '7', field 'index': a second"):
        activation_set(keys().assign(index=[0, 1, 1]), values, source="acts")
    with pytest.raises(StudyInputError, match="3 key rows but 2 activation rows"):
        activation_set(keys(), values[:2])
    with pytest.raises(StudyInputError, match="shape"):
        activation_set(keys(), values[:, 0])
    broken = values.copy()
    broken[1, 0, 0] = np.nan
    with pytest.raises(StudyInputError, match=r":2: participant '7', field 'activations'"):
        activation_set(keys(), broken)
    with pytest.raises(StudyInputError, match="field 'condition': column 'condition' not found"):
        activation_set(keys().drop(columns="condition"), values)
    with pytest.raises(StudyInputError, match="must name each"):
        activation_set(keys(), values, layers=[1, 1])


def test_the_default_config_has_at_least_20_roles_in_the_interview_framing():
    cfg = load_config(DEFAULT)
    roles = role_personas(cfg)
    assert len(roles) >= 20
    assert len(set(roles.values())) == len(roles)
    for name, text in roles.items():
        assert name.startswith("role:")
        assert text.startswith("Interviewer: How would you describe yourself?\nInterviewee: I")
        assert text.endswith("\n\n")


def test_config_errors_name_the_setting(tmp_path):
    good = load_config(DEFAULT)
    with pytest.raises(ConfigError, match="template must contain"):
        check(PersonaSpaceConfig(template="no slot", roles=good.roles))
    with pytest.raises(ConfigError, match="role name 'a b'"):
        check(PersonaSpaceConfig(roles={**good.roles, "a b": "text"}))
    with pytest.raises(ConfigError, match=r"roles.pirate: the text is empty"):
        check(PersonaSpaceConfig(roles={**good.roles, "pirate": " "}))
    with pytest.raises(ConfigError, match=r"null_quantile must be a number in \(0, 1\)"):
        check(PersonaSpaceConfig(roles=good.roles, null_quantile=1.5))
    with pytest.raises(ConfigError, match="split_draws must be an integer"):
        check(PersonaSpaceConfig(roles=good.roles, split_draws=0))
    path = tmp_path / "c6.yaml"
    path.write_text("roles: {}\nnul_draws: 3\n")
    with pytest.raises(ConfigError, match=r"c6.yaml: unknown setting\(s\) \['nul_draws'\]"):
        load_config(path)

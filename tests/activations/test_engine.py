"""The activations engine on the real driver: shapes and dtypes, positions, chunking,
rendered prompts, and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from study.activations import ActivationRequest, ActivationsConfig, ActivationsEngine
from study.data import iter_participants
from study.errors import ConfigError, StudyInputError
from study.personas.conditions import PersonaCondition
from study.personas.config import PersonaTextsConfig, PreambleConfig
from study.personas.render import render

from .conftest import DEZFOULI, MODELS, THOMA, thoma_requests

pytestmark = pytest.mark.vllm


def test_states_are_float16_choice_points_by_layers_by_hidden(smollm2_engine):
    (request,) = thoma_requests(1)
    every = smollm2_engine.compute(request)
    assert smollm2_engine.info["n_layers"] == 30 and smollm2_engine.info["hidden"] == 576
    assert every.states.dtype == np.float16
    assert every.states.shape == (len(request.spans), 30, 576)
    assert every.layers == tuple(range(30))
    assert np.isfinite(every.states).all() and np.abs(every.states).max() > 1
    # The kept state is the last context token: the one just before the response's.
    assert all(p >= 1 for p in every.positions)
    assert every.positions == tuple(sorted(set(every.positions)))
    # Two layers asked for: the same rows of the same forward pass.
    some = smollm2_engine.compute(
        ActivationRequest(request.prompt, request.spans, request.tags, (29, 3))
    )
    assert some.layers == (29, 3)
    np.testing.assert_array_equal(some.states, every.states[:, [29, 3]])
    assert some.nll == every.nll


def test_chunks_do_not_change_the_result_across_gemmas_sliding_window(gemma_engine):
    # Gemma 3 attends through a 512-token sliding window in 5 of every 6 layers; a
    # 630-token prompt in chunks of 100 must give what one pass gives.
    (request,) = thoma_requests(1, layers=(0, 8, 17))
    whole = gemma_engine.compute(request)
    chunked_engine = ActivationsEngine(ActivationsConfig(chunk_size=100), MODELS["gemma3_270m"])
    with chunked_engine:
        chunked = chunked_engine.compute(request)
    assert whole.prompt_tokens > 512
    np.testing.assert_allclose(whole.nll, chunked.nll, atol=1e-3)
    scale = np.abs(whole.states.astype(np.float32)).max(axis=(0, 2), keepdims=True)
    gap = np.abs(whole.states.astype(np.float32) - chunked.states.astype(np.float32)) / scale
    assert gap.max() < 1e-2


def test_a_persona_preamble_moves_every_choice_point_by_its_length(smollm2_engine):
    person = next(iter(iter_participants(THOMA, limit=1)))
    texts = PersonaTextsConfig(archetypes={"bold": "I love taking risks and never hesitate."})
    condition = PersonaCondition("archetype", "bold")
    rendered = render(person, condition, texts, PreambleConfig())
    request = ActivationRequest.from_rendered(rendered, layers=(15,))
    assert dict(request.tags)["persona"] == "archetype:bold"
    result = smollm2_engine.compute(request)
    bare = smollm2_engine.compute(thoma_requests(1, layers=(15,))[0])
    assert result.states.shape == (len(person.choices), 1, 576)
    assert result.n_tokens == bare.n_tokens
    # The preamble is in front: every choice point sits later in the token sequence.
    shift = result.prompt_tokens - bare.prompt_tokens
    assert shift > 0
    assert result.positions == tuple(p + shift for p in bare.positions)


def test_a_missing_environment_names_what_to_run(tmp_path):
    settings = ActivationsConfig(python=str(tmp_path / "no-such-python"))
    with pytest.raises(ConfigError, match="make vllm-env") as refused:
        ActivationsEngine(settings, MODELS["smollm2_135m"])
    assert "activations.python" in str(refused.value)


def test_an_interpreter_without_torch_is_named(smollm2_engine):
    # (smollm2_engine: the weights are converted, so only the interpreter is at fault.)
    # The package's own Python 3.12 has neither torch nor transformers.
    import sys

    engine = ActivationsEngine(ActivationsConfig(python=sys.executable), MODELS["smollm2_135m"])
    with pytest.raises(ConfigError, match="lacks torch or transformers"):
        engine.fingerprint()


def test_a_layer_the_model_lacks_is_an_error_naming_the_count(smollm2_engine):
    (request,) = thoma_requests(1, layers=(30,))
    with pytest.raises(ConfigError, match="the model has 30"):
        smollm2_engine.compute(request)


def test_a_prompt_longer_than_the_context_window_names_the_participant(smollm2_engine):
    # A whole dezfouli2019 transcript is about 20,000 tokens; SmolLM2 reads 8,192.
    person = next(iter(iter_participants(DEZFOULI, limit=1)))
    request = ActivationRequest(
        person.transcript,
        tuple((c.start, c.end) for c in person.choices),
        (("participant", person.participant),),
    )
    with pytest.raises(StudyInputError, match=f"{person.participant}.*context window"):
        smollm2_engine.compute(request)
    # The driver survives a refused request.
    assert smollm2_engine.compute(thoma_requests(1, layers=(0,))[0]).states.shape[1] == 1


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="chunk_size"):
        ActivationsEngine(ActivationsConfig(chunk_size=0), MODELS["smollm2_135m"])
    with pytest.raises(ConfigError, match="dtype"):
        ActivationsEngine(ActivationsConfig(dtype="int8"), MODELS["smollm2_135m"])

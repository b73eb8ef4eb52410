import numpy as np
import pytest

from robostack.core.types import JointState
from robostack.policies.runner import ObservationPerturbation
from robostack.runtime.policy_source import PolicySource
from tests.policies.helpers import FEATURES, randomize_outputs, tiny_dit

DOF = FEATURES.action_dim - 1


def _source(**kwargs) -> PolicySource:
    policy = tiny_dit()
    randomize_outputs(policy)
    observed = []

    def robot_state(state: JointState) -> np.ndarray:
        observed.append(state.t)
        return np.full(FEATURES.state_dim, state.t, np.float32)

    source = PolicySource(
        policy,
        language=np.zeros(FEATURES.language_dim),
        robot_state=robot_state,
        environment_state=lambda: np.ones(FEATURES.environment_dim - 1),
        limits=(np.full(DOF, 2.0), np.full(DOF, 15.0), np.full(DOF, 7500.0)),
        **kwargs,
    )
    source.observed = observed
    return source


def _run(source: PolicySource, seconds: float) -> list[tuple[float, object]]:
    """Call the source every `period` s like the loop does; (t, chunk) for each chunk."""
    chunks = []
    for k in range(round(seconds / source.period)):
        t = k * source.period
        chunk = source.next_chunk(JointState(t=t, q=np.zeros(DOF), dq=np.zeros(DOF)))
        if chunk is not None:
            chunks.append((t, chunk))
    return chunks


def test_observes_at_the_policy_rate_and_predicts_every_ta_observations():
    source = _source()
    chunks = _run(source, 2.0)
    assert np.allclose(source.observed, np.arange(20) * 0.1)
    assert [round(t, 6) for t, _ in chunks] == [0.0, 0.8, 1.6]  # Ta = 8 steps of 0.1 s
    _, chunk = chunks[1]
    assert chunk.obs_time == pytest.approx(0.8) and chunk.t0 == pytest.approx(0.8)
    # the observed position leads, then the policy's Tp waypoints from one step ahead
    assert chunk.q.shape == (FEATURES.horizon + 1, DOF)
    assert chunk.gripper.shape == (FEATURES.horizon + 1,)
    assert np.allclose(chunk.q[0], 0.0)


def test_the_history_holds_the_last_to_observations_oldest_first():
    source = _source()
    _run(source, 0.35)
    history = source.observation()["state"][0, :, 0].numpy()
    assert np.allclose(history, [0.2, 0.3])
    assert source.observation()["environment_mask"][0].tolist() == [1, 1, 1, 0]


def test_latency_delays_the_chunk_but_keeps_its_observation_time():
    chunks = _run(_source(latency_s=0.05), 1.0)
    (t_first, first), (t_second, second) = chunks
    assert t_first == pytest.approx(0.05) and first.obs_time == 0.0
    assert first.t0 == 0.0  # aligned to the observation, not the arrival
    assert t_second == pytest.approx(0.85) and second.obs_time == pytest.approx(0.8)


def test_bad_inputs_are_refused_before_anything_runs():
    with pytest.raises(ValueError, match="latency_s"):
        _source(latency_s=0.9)
    policy = tiny_dit()
    with pytest.raises(ValueError, match="language embedding"):
        PolicySource(
            policy, language=np.zeros(3), robot_state=None, environment_state=None, limits=None
        )
    source = _source()
    source.robot_state = lambda state: np.zeros(3)
    with pytest.raises(ValueError, match="another robot"):
        _run(source, 0.1)


def test_masking_replaces_chosen_dimensions_by_their_range_centre():
    source = _source(perturbation=ObservationPerturbation("mask", 1.0, seed=0))
    _run(source, 0.1)
    obs = source.observation()
    assert np.allclose(obs["state"].numpy(), 0.0)  # the centre of [-2, 2]
    assert obs["environment_mask"].sum() == 0
    with pytest.raises(ValueError, match="kind"):
        ObservationPerturbation("blur", 0.5)

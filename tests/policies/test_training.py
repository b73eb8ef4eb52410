import json
from dataclasses import replace

import pytest
import torch

from robostack.policies.checkpoint import load_policy
from robostack.policies.dit import DiTConfig, DiTPolicy
from robostack.policies.training import TrainConfig, train
from robostack.policies.training.trainer import ResumeError
from tests.policies.helpers import FEATURES, demonstrations


def _policy(data, seed: int = 0) -> DiTPolicy:
    torch.manual_seed(seed)
    config = DiTConfig(features=FEATURES, d_model=32, n_heads=4, n_layers=2, n_obs_layers=1)
    return DiTPolicy(config, data.stats())


def test_a_tiny_run_overfits_a_handful_of_demonstrations(tmp_path):
    data = demonstrations(episodes=4)
    config = TrainConfig(steps=400, batch_size=32, lr=3e-3, warmup_steps=20, log_every=20)
    result = train(_policy(data), data, tmp_path / "run", config=config)
    assert result.losses[-1] < result.losses[0] / 10
    log = [json.loads(line) for line in (tmp_path / "run/log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log][-1] == 400
    assert load_policy(tmp_path / "run/checkpoint").name == "dit"


def _weights(path) -> dict[str, torch.Tensor]:
    return load_policy(path).state_dict()


def test_training_is_deterministic_and_resumes_exactly(tmp_path):
    data = demonstrations(episodes=3)
    config = TrainConfig(steps=30, batch_size=8, warmup_steps=5, checkpoint_every=10, seed=3)
    train(_policy(data), data, tmp_path / "a", config=config)
    train(_policy(data), data, tmp_path / "b", config=config)

    def interrupt(step, steps):
        if step == 15:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(_policy(data), data, tmp_path / "c", config=config, progress=interrupt)
    assert json.loads((tmp_path / "c/training_state.json").read_text())["step"] == 10
    result = train(_policy(data, seed=99), data, tmp_path / "c", config=config, resume=True)
    assert result.resumed_from == 10
    a, b, c = (_weights(tmp_path / x / "checkpoint") for x in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(torch.equal(a[k], c[k]) for k in a)


def test_resume_without_a_state_says_so(tmp_path):
    data = demonstrations(episodes=2)
    with pytest.raises(ResumeError, match="cannot resume"):
        train(_policy(data), data, tmp_path, config=TrainConfig(steps=2), resume=True)


def test_resume_refuses_a_state_that_is_not_this_run_s(tmp_path):
    data = demonstrations(episodes=2)
    config = TrainConfig(steps=4, batch_size=4, warmup_steps=1, checkpoint_every=2)
    train(_policy(data), data, tmp_path, config=config)
    longer = replace(config, steps=6)  # more steps: the schedule stretches, allowed
    assert train(_policy(data), data, tmp_path, config=longer, resume=True).resumed_from == 4
    with pytest.raises(ResumeError, match=r"another lr: the run was started with lr=0\.001"):
        train(_policy(data), data, tmp_path, config=replace(longer, lr=3e-4), resume=True)
    torch.manual_seed(0)
    wider = DiTConfig(features=FEATURES, d_model=64, n_heads=4, n_layers=2, n_obs_layers=1)
    with pytest.raises(ResumeError, match="holds another network"):
        train(DiTPolicy(wider, data.stats()), data, tmp_path, config=longer, resume=True)
    state = tmp_path / "training_state.json"
    state.write_text(state.read_text().replace('"step": 6', '"step": 5'))
    with pytest.raises(ResumeError, match="written at different steps"):
        train(_policy(data), data, tmp_path, config=longer, resume=True)
    state.write_text("{not json")
    with pytest.raises(ResumeError, match="unreadable"):
        train(_policy(data), data, tmp_path, config=longer, resume=True)


def test_periodic_evaluations_see_the_ema_policy(tmp_path):
    data = demonstrations(episodes=2)
    seen = []

    def evaluate(policy, step):
        seen.append((step, policy.training))
        return {"success_rate": 0.5}

    config = TrainConfig(steps=6, batch_size=4, warmup_steps=1, eval_every=3)
    result = train(_policy(data), data, tmp_path, config=config, evaluate=evaluate)
    assert seen == [(3, False), (6, False)]
    assert [e["step"] for e in result.evaluations] == [3, 6]

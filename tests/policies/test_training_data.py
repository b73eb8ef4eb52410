"""Training windows from LeRobot datasets: task mixing, padding and task-weighted sampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robostack.core.errors import RobostackError
from robostack.policies.datasets import DatasetWriter
from robostack.policies.training.data import load_training_data


def _dataset(root, *, env_dim: int, episodes: int, length: int, task: str | None) -> None:
    names = {
        "observation.state": ["q1", "q2"],
        "observation.environment_state": [f"e{i}" for i in range(env_dim)],
        "action": ["q1", "q2"],
    }
    writer = DatasetWriter(root=root, fps=10, robot_type="panda", names=names)
    for seed in range(episodes):
        frames = {
            "observation.state": np.full((length, 2), seed, np.float32),
            "observation.environment_state": np.ones((length, env_dim), np.float32),
            "action": np.full((length, 2), seed, np.float32),
            "timestamp": np.arange(length, dtype=np.float32) / 10,
        }
        meta = {"robostack/task": task, "robostack/seed": seed} if task else None
        writer.add_episode(frames, f"do {task or root.name}", meta)
    writer.close()


def _embed(sentences):
    return np.zeros((len(sentences), 4), np.float32)


def test_batches_draw_each_task_equally_often_whatever_its_share_of_windows(tmp_path):
    _dataset(tmp_path / "reach", env_dim=2, episodes=10, length=5, task="reach")
    _dataset(tmp_path / "push", env_dim=3, episodes=2, length=50, task="push")
    data = load_training_data([tmp_path / "reach", tmp_path / "push"], embed=_embed)

    assert len(data) == 150  # 50 reach windows, 100 push windows
    assert data.tasks["reach"]["episodes"] == 10 and data.tasks["push"]["episodes"] == 2
    assert data.environment_mask[0].tolist() == [1, 1, 0]  # reach's task state is padded
    windows = data.sample(20_000, torch.Generator().manual_seed(0))
    reach_share = (windows < 50).double().mean().item()
    assert abs(reach_share - 0.5) < 0.02
    assert torch.equal(windows, data.sample(20_000, torch.Generator().manual_seed(0)))


def test_a_dataset_without_task_metadata_is_named_after_its_folder(tmp_path):
    _dataset(tmp_path / "wave", env_dim=1, episodes=3, length=4, task=None)
    data = load_training_data([tmp_path / "wave"], embed=_embed)

    assert data.tasks == {"wave": {"environment_dim": 1, "episodes": 3, "sentences": ["do wave"]}}
    assert torch.allclose(data.window_weight, torch.full((12,), 1 / 12, dtype=torch.float64))


def test_task_weights_tilt_the_draws_and_unknown_tasks_are_refused(tmp_path):
    _dataset(tmp_path / "reach", env_dim=2, episodes=10, length=5, task="reach")
    _dataset(tmp_path / "push", env_dim=3, episodes=2, length=50, task="push")
    roots = [tmp_path / "reach", tmp_path / "push"]
    data = load_training_data(roots, embed=_embed, task_weights={"push": 3})

    windows = data.sample(20_000, torch.Generator().manual_seed(0))
    assert abs((windows < 50).double().mean().item() - 0.25) < 0.02
    with pytest.raises(RobostackError, match="wave"):
        load_training_data(roots, embed=_embed, task_weights={"wave": 2})
    with pytest.raises(RobostackError, match=">= 0"):
        load_training_data(roots, embed=_embed, task_weights={"push": -1})

import json

import pytest
import torch

from robostack.policies.checkpoint import CheckpointError, load_policy, save_checkpoint
from tests.policies.helpers import observation, randomize_outputs, tiny_dit, tiny_mlp


@pytest.fixture
def saved(tmp_path):
    policy = tiny_dit()
    randomize_outputs(policy)
    save_checkpoint(policy, tmp_path / "ckpt", data={"robot": "panda"})
    return policy, tmp_path / "ckpt"


def _sample(policy) -> torch.Tensor:
    return policy.predict_chunk(observation(), generator=torch.Generator().manual_seed(3))


def test_round_trip_gives_identical_outputs(saved):
    policy, path = saved
    assert sorted(p.name for p in path.iterdir()) == [
        "config.json",
        "model.safetensors",
        "stats.json",
    ]
    loaded = load_policy(path)
    assert torch.equal(_sample(policy.eval()), _sample(loaded))
    assert loaded.config == policy.config and loaded.stats() == policy.stats()


def test_half_precision_checkpoints_load_as_float32(tmp_path):
    policy = tiny_mlp()
    save_checkpoint(policy, tmp_path / "half", half=True)
    loaded = load_policy(tmp_path / "half")
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    assert torch.allclose(_sample(policy.eval()), _sample(loaded), atol=2e-2)


def test_truncated_weights_are_refused(saved):
    _, path = saved
    weights = path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match=r"model\.safetensors is corrupt or truncated"):
        load_policy(path)


def test_garbage_weights_are_refused_without_unpickling(saved):
    _, path = saved
    (path / "model.safetensors").write_bytes(b"\x80\x04\x95" + b"not a safetensors file" * 10)
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_policy(path)


def test_corrupt_config_is_refused(saved):
    _, path = saved
    (path / "config.json").write_text("{ not json")
    with pytest.raises(CheckpointError, match=r"config.json is not valid JSON"):
        load_policy(path)


def test_a_config_that_does_not_match_the_weights_is_refused(saved):
    _, path = saved
    config = json.loads((path / "config.json").read_text())
    config["config"]["d_model"] = 64
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="has shape"):
        load_policy(path)
    config["config"]["n_layers"] = 3
    config["config"]["d_model"] = 32
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="missing"):
        load_policy(path)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("d_model", 128.0),
        ("n_heads", 0),
        ("beta_schedule", "foo"),
        (None, 5),
        ("policy", ["dit"]),
        ("policy", "transformer"),
    ],
)
def test_a_config_that_builds_no_policy_is_refused(saved, key, value):
    _, path = saved
    config = json.loads((path / "config.json").read_text())
    if key is None:
        config["config"] = value
    elif key == "policy":
        config["policy"] = value
    else:
        config["config"][key] = value
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"config\.json builds no policy"):
        load_policy(path)


def test_wrong_format_missing_files_and_bad_stats_are_refused(saved, tmp_path):
    _, path = saved
    with pytest.raises(CheckpointError, match="not a folder"):
        load_policy(tmp_path / "nowhere")
    stats = json.loads((path / "stats.json").read_text())
    stats["action"]["min"] = stats["action"]["min"][:-1]
    (path / "stats.json").write_text(json.dumps(stats))
    with pytest.raises(CheckpointError, match="'action'"):
        load_policy(path)
    (path / "stats.json").unlink()
    with pytest.raises(CheckpointError, match=r"stats\.json is missing"):
        load_policy(path)
    config = json.loads((path / "config.json").read_text())
    config["format"] = "something-else"
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="format"):
        load_policy(path)


def test_non_finite_weights_are_refused(tmp_path):
    policy = tiny_mlp()
    with torch.no_grad():
        next(policy.parameters())[0, 0] = float("nan")
    save_checkpoint(policy, tmp_path / "nan")
    with pytest.raises(CheckpointError, match="NaN or Inf"):
        load_policy(tmp_path / "nan")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("d_model", -4, r"d_model must be an integer in \[1, 4096\], got -4"),
        ("n_layers", 10**9, r"n_layers must be an integer in \[1, 64\]"),
        ("mlp_ratio", 2.5, r"mlp_ratio must be an integer"),
        ("dropout", float("nan"), r"dropout must be a number in \[0.0, 0.99\]"),
        ("features.state_dim", 10**9, r"state_dim must be an integer in \[1, 1024\]"),
        ("features.horizon", -16, r"horizon must be an integer in \[2, 1024\]"),
        ("d_model", 4096, r"about .* parameters, at most"),
    ],
)
def test_configs_are_checked_against_ranges_before_any_tensor_is_built(saved, key, value, message):
    _, path = saved
    config = json.loads((path / "config.json").read_text())
    where = config["config"]
    if key.startswith("features."):
        where, key = where["features"], key.removeprefix("features.")
    where[key] = value
    if key == "d_model":  # n_heads divides it: only the size is wrong
        config["config"].update(n_heads=4, n_layers=64, mlp_ratio=16)
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=message):
        load_policy(path)


def test_a_flipped_byte_in_the_weights_is_caught_by_the_checksum(saved):
    _, path = saved
    weights = path / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0x01  # inside the last tensor's numbers: still a valid safetensors file
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="the weights were changed or damaged"):
        load_policy(path)


def test_a_checkpoint_without_a_checksum_still_loads(saved):
    _, path = saved
    config = json.loads((path / "config.json").read_text())
    del config["weights_sha256"]
    (path / "config.json").write_text(json.dumps(config))
    load_policy(path)

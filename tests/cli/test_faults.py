"""Faults and bad input through the public commands: every stop obeyed and acknowledged, every
refusal before motion with exit 2 and one line, every failure a clear error."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from robostack.cli.main import main
from robostack.core.paths import CHECKPOINTS, LAUNCH_FILES
from robostack.runtime.control_link import ControlLink
from tests.cli.test_cli import robostack
from tests.runtime.safety.test_monitor import monitor
from tests.transport.helpers import private_config


def _one_error(err: str) -> bool:
    """The refusal is one line, no traceback (a progress note may come before it)."""
    return "Traceback" not in err and sum(": error: " in line for line in err.splitlines()) == 1


def test_stop_says_who_obeyed_a_stop_of_any_length(capsys):
    config = private_config()
    with ControlLink(config=config) as link:
        link.bind(monitor())
        done = threading.Event()

        def listen() -> None:
            while not done.is_set():
                link.wait(0.02)

        listener = threading.Thread(target=listen)
        listener.start()
        try:
            code = main(["stop", "--url", config.url, "--reason", "停" * 3000, "--json"])
        finally:
            done.set()
            listener.join()
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["ok"]
    (obeyed,) = report["obeyed_by"]
    assert obeyed["session"] == link.session and obeyed["state"] == "stopping"
    (request,) = link.stop_requests
    assert request.endswith("停...")  # cut at the sender, whole characters


def test_stop_fails_when_no_control_process_obeyed(capsys):
    config = private_config()
    code = main(["stop", "--url", config.url, "--wait", "0.3"])
    assert code == 1
    assert "no control process acknowledged it" in capsys.readouterr().err


NEGATED_GOALS = (
    "do not reach the blue marker behind the wall",
    "don't push the red cube onto the green square",
    "never push the red cube onto the green square",
    "push the red cube onto the green square, no wait, stop",
)


@pytest.mark.parametrize("launch_file", ["panda_mujoco.toml", "franka_fci.toml"])
def test_negated_goals_are_refused_by_a_dry_run_too(capsys, launch_file):
    for goal in NEGATED_GOALS:
        argv = ["launch", goal, "--launch", str(LAUNCH_FILES / launch_file), "--dry-run"]
        assert main([*argv, "--address", "172.16.0.2"] if "fci" in launch_file else argv) == 2
        err = capsys.readouterr().err
        assert "negates or cancels itself" in err and _one_error(err)


def _broken_checkpoint(tmp_path, how: str):
    """A copy of the shipped reach checkpoint, broken ``how``."""
    path = tmp_path / "reach"
    shutil.copytree(CHECKPOINTS / "reach", path)
    weights, config_file = path / "model.safetensors", path / "config.json"
    config = json.loads(config_file.read_text())
    if how == "truncated":
        weights.write_bytes(weights.read_bytes()[:-1000])
    elif how == "pickled":
        weights.write_bytes(b"\x80\x04\x95" + b"a pickle, not safetensors" * 10)
    elif how == "flipped byte":
        data = bytearray(weights.read_bytes())
        data[-10] ^= 0x01
        weights.write_bytes(bytes(data))
    elif how == "NaN":
        tensors = load_file(weights)
        next(iter(tensors.values()))[0] = float("nan")
        save_file(tensors, weights, metadata={"format": "robostack-policy"})
        del config["weights_sha256"]  # as an older checkpoint: its weights are checked anyway
    elif how == "negative dimension":
        config["config"]["features"]["state_dim"] = -18
    elif how == "huge dimension":
        config["config"]["d_model"] = 4096 * 4096
    config_file.write_text(json.dumps(config))
    return path


def _launch_file(tmp_path, **policy) -> Path:
    text = (LAUNCH_FILES / "panda_mujoco.toml").read_text()
    runs = policy.pop("runs_dir", tmp_path / "runs")
    text = text.replace('runs_dir = "runs"', f'runs_dir = "{runs}"')
    if "checkpoint" in policy:
        text = text.replace('checkpoint = ""', f'checkpoint = "{policy["checkpoint"]}"')
    path = tmp_path / "launch.toml"
    path.write_text(text)
    return path


BROKEN = ("truncated", "pickled", "flipped byte", "NaN", "negative dimension", "huge dimension")


@pytest.mark.parametrize("how", BROKEN)
def test_a_dry_run_loads_the_checkpoint_and_refuses_a_broken_one(tmp_path, capsys, how):
    checkpoint = _broken_checkpoint(tmp_path, how)
    launch = _launch_file(tmp_path, checkpoint=checkpoint)
    assert main(["launch", "reach the red marker", "--launch", str(launch), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert str(checkpoint) in err and _one_error(err), err


@pytest.mark.parametrize("command", ["eval", "policy-server"])
def test_an_absurd_checkpoint_config_is_refused_in_one_line_by_eval_and_the_server(
    tmp_path, command
):
    checkpoint = _broken_checkpoint(tmp_path, "huge dimension")
    args = ["--checkpoint", str(checkpoint)] + (["--task", "reach"] if command == "eval" else [])
    done = robostack(command, *args, "--seconds", "1") if command != "eval" else None
    done = done or robostack(command, *args, "--episodes", "1", "--out", str(tmp_path / "out"))
    assert done.returncode == 2, done.stderr
    assert "d_model must be an integer in [1, 4096]" in done.stderr
    assert "Traceback" not in done.stderr and _one_error(done.stderr)


def test_a_dry_run_opens_the_runs_folder(tmp_path, capsys):
    occupied = tmp_path / "a file"
    occupied.write_text("")
    for runs in (occupied, Path("/proc/robostack-runs")):
        launch = _launch_file(tmp_path, runs_dir=runs)
        argv = ["launch", "reach the red marker", "--launch", str(launch), "--dry-run"]
        assert main(argv) == 2
        assert f"the runs folder {runs} cannot hold recordings" in capsys.readouterr().err


def test_runs_skips_an_unreadable_run_with_a_note(tmp_path):
    for name, summary in (("20260101-000000-good", '{"outcome": "completed"}'), ("2026-x", "")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(summary)  # "": a disk that was full
    done = robostack("runs", "--runs-dir", str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [r["run"] for r in report["runs"]] == ["20260101-000000-good"]
    assert report["skipped"][0]["run"] == "2026-x"
    assert "skipped 2026-x: summary.json is not valid JSON" in done.stderr


def _broken_dataset(reach_dataset, tmp_path, how: str) -> Path:
    """A copy of the shared reach dataset, broken ``how``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = tmp_path / "dataset"
    shutil.copytree(reach_dataset, root)
    (episodes_file,) = (root / "meta/episodes").glob("chunk-*/file-*.parquet")
    (data_file,) = (root / "data").glob("chunk-*/file-*.parquet")
    info = json.loads((root / "meta/info.json").read_text())
    if how == "range beyond the data":
        table = pq.read_table(episodes_file)
        stops = table.column("dataset_to_index").to_numpy().copy()
        stops[-1] += 500
        index = table.column_names.index("dataset_to_index")
        pq.write_table(table.set_column(index, "dataset_to_index", pa.array(stops)), episodes_file)
    elif how == "range across a boundary":
        table = pq.read_table(episodes_file)
        stops = table.column("dataset_to_index").to_numpy().copy()
        stops[0] += 10  # episode 0 reaching into episode 1
        index = table.column_names.index("dataset_to_index")
        pq.write_table(table.set_column(index, "dataset_to_index", pa.array(stops)), episodes_file)
    elif how == "declared shape":
        info["features"]["action"]["shape"] = [3]
    elif how == "truncated parquet":
        data_file.write_bytes(data_file.read_bytes()[:200])
    elif how == "broken info.json":
        (root / "meta/info.json").write_text('{"codebase_version": "v3.0", ')
        return root
    (root / "meta/info.json").write_text(json.dumps(info))
    return root


DATASET_FAULTS = (
    "range beyond the data",
    "range across a boundary",
    "declared shape",
    "truncated parquet",
    "broken info.json",
)


@pytest.mark.parametrize("how", DATASET_FAULTS)
def test_replay_and_train_refuse_a_dataset_whose_metadata_lies(reach_dataset, tmp_path, how):
    root = _broken_dataset(reach_dataset, tmp_path, how)
    replay = robostack("replay", str(root), "--episode", "0", "--runs-dir", str(tmp_path / "r"))
    train = robostack(
        "train", "--dataset", str(root), "--out", str(tmp_path / "ck"), "--steps", "1"
    )
    for done in (replay, train):
        assert done.returncode == 2, done.stderr
        assert str(root) in done.stderr and _one_error(done.stderr)
    assert not (tmp_path / "r").exists()  # nothing replayed, nothing moved


def test_bad_input_files_and_values_exit_2_in_one_line(tmp_path):
    binary = tmp_path / "launch.toml"
    binary.write_bytes(bytes(range(256)))
    cases = {
        "cannot hold recordings (File exists)": ["track", "--runs-dir", str(binary)],
        "not a text file": ["launch", "reach the red marker", "--launch", str(binary)],
        "a folder, not a launch file": ["launch", "reach the red marker", "--launch", "/tmp"],
        "--seed: must be in [0,": ["track", "--seed", "-1", "--no-record"],
    }
    for message, argv in cases.items():
        done = robostack(*argv)
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[controller.gains]\nkp = [1e12, 1600, 1600, 1600, 1600, 1600, 1600]\n", "at most 10x"),
        ("[ipc]\npolicy_timeout_s = inf\n", "policy_timeout_s must be in (0, 10] s"),
        ("[ipc]\nstartup_timeout_s = nan\n", "startup_timeout_s must be in (0, 3600] s"),
    ],
)
def test_unchecked_launch_values_are_refused_before_anything_moves(
    tmp_path, capsys, table, message
):
    launch = _launch_file(tmp_path)
    launch.write_text(launch.read_text() + "\n" + table)
    assert main(["launch", "reach the red marker", "--launch", str(launch), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert message in err and _one_error(err), err


@pytest.mark.parametrize("tolerance", ["nan", "inf", "0", "-1"])
def test_track_refuses_a_tolerance_that_is_no_angle_up_front(tmp_path, capsys, tolerance):
    argv = ["track", "--tolerance", tolerance, "--runs-dir", str(tmp_path / "runs")]
    assert main(argv) == 2
    assert "--tolerance must be a finite angle > 0 rad" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # refused before any session


def test_the_session_name_of_a_launch_file_names_its_run_folders(tmp_path, capsys):
    launch = _launch_file(tmp_path)
    launch.write_text(launch.read_text().replace('name = "panda-mujoco"', 'name = "bench-7"'))
    assert main(["launch", "reach the red marker", "--launch", str(launch), "--json"]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name.endswith("-bench-7-reach-panda-seed0")


@pytest.mark.parametrize("address", ["0.0.0.0", "192.168.1.10", "::"])
def test_virtual_robot_serves_only_on_loopback(address):
    done = robostack("virtual-robot", "--address", address)
    assert done.returncode == 2, done.stderr
    assert "serves only on a loopback address" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(("robot", "edge"), [("franka", "0.2"), ("ur5e", "0.05")])
def test_a_grasp_cube_is_the_franka_s_and_fits_its_hand(robot, edge):
    done = robostack("virtual-robot", "--robot", robot, "--cube", edge, "--address", "127.0.0.1")
    assert done.returncode == 2, done.stderr
    assert "--cube takes the franka's cube edge" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(("robot", "limit"), [("franka", "0"), ("ur5e", "250")])
def test_a_lost_command_limit_is_the_franka_s_and_at_least_one(robot, limit):
    done = robostack(
        "virtual-robot", "--robot", robot, "--lost-commands", limit, "--address", "127.0.0.1"
    )
    assert done.returncode == 2, done.stderr
    assert "--lost-commands takes the franka's limit" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_virtual_controller_listener_caps_its_clients():
    import select
    import socket

    from robostack.hardware.rehearsal.virtual.server import Listener

    held = threading.Event()
    port = _free_tcp_port()
    listener = Listener("127.0.0.1", port, lambda sock: held.wait(90), max_clients=2)
    clients = []
    try:
        clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(4)]
        # the listener takes the clients in the order they connected and closes a refused one
        # at once: once the last is closed (however long a loaded machine takes), every one of
        # them has been decided, and the closed ones read as ended, the served ones as open
        clients[-1].settimeout(60)
        assert clients[-1].recv(1) == b"", "the client over the cap was served"
        ended, _, _ = select.select(clients, [], [], 0)
        closed = [client for client in ended if client.recv(1) == b""]
        assert len(closed) == 2 and clients[-2] in closed
    finally:
        held.set()
        for client in clients:
            client.close()
        listener.close()


def _free_tcp_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

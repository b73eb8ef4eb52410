"""The unmodified ur_rtde client against the virtual UR controller (its own process) on
loopback: the client calls, then the whole real-robot session path from the CLI, an injected
protective stop, then unlock and reconnect; a stalled client caught by the watchdog, a pulled
cable."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import dashboard_client
import numpy as np
import pytest
import rtde_control
import rtde_receive

from robostack.cli.main import main
from robostack.core.errors import RobotConnectionError
from robostack.core.paths import CHECKPOINTS, LAUNCH_FILES
from robostack.core.robots import get_robot
from robostack.hardware.rehearsal.virtual.process import virtual_controller
from robostack.hardware.rehearsal.virtual.server import request
from robostack.hardware.ur.robot import SCRIPT_START_S
from robostack.launcher.launch_file import load_launch_file
from robostack.launcher.plan import make_plan
from robostack.launcher.real_session import open_robot
from robostack.launcher.session import run_plan
from tests.conftest import loopback, within
from tests.hardware.helpers import LOADED_WATCHDOG_HZ, for_a_loaded_machine, read_summary
from tests.hardware.rehearsal.helpers import inject_once_moving

ADDRESS = loopback(41)
GOAL = "reach the red marker"
STOPS_WITHIN_S = 30.0  # a stopped script shows in the next state, later on a loaded machine


@pytest.fixture  # one virtual controller at a time: each spins a 1 kHz clock
def ur5e():
    with virtual_controller("ur5e", ADDRESS):
        yield ADDRESS


def _launch_file(tmp_path, *, tracking_error_max: float | None = None) -> str:
    """launch/ur5_rtde.toml unchanged but for a fixed seed, the checkpoint's full path, the
    runs folder, the bounds of a shared machine (`for_a_loaded_machine`) and
    ``tracking_error_max`` if given; the address comes on the command line."""
    text = (LAUNCH_FILES / "ur5_rtde.toml").read_text()
    text = for_a_loaded_machine(text)
    if tracking_error_max is not None:
        text = text.replace(
            "tracking_error_max = 0.05", f"tracking_error_max = {tracking_error_max}"
        )
    text = text.replace('task = "reach"', 'task = "reach"\nseed = 3', 1)
    text = text.replace('checkpoint = "ur5e_reach"', f'checkpoint = "{CHECKPOINTS / "ur5e_reach"}"')
    text = text.replace("enabled = true", f'enabled = true\nruns_dir = "{tmp_path}"')
    path = tmp_path / "ur5_rtde.toml"
    path.write_text(text)
    return str(path)


@contextmanager
def _clients(address: str) -> Iterator[tuple]:
    """ur_rtde's dashboard, receive and control clients connected to ``address``, and
    disconnected when the block ends."""
    dashboard = dashboard_client.DashboardClient(address)
    dashboard.connect()
    receive = rtde_receive.RTDEReceiveInterface(address)
    control = rtde_control.RTDEControlInterface(address)
    try:
        yield dashboard, receive, control
    finally:
        control.disconnect()
        receive.disconnect()
        dashboard.disconnect()


def _controller_state(receive, control) -> str:
    """What the client sees of the controller, for a failed call's message."""
    return (
        f"runtime state {receive.getRuntimeState()}, robot mode {receive.getRobotMode()}, "
        f"safety bits {receive.getSafetyStatusBits()}, program running "
        f"{control.isProgramRunning()}, connected {control.isConnected()}"
    )


def test_the_controller_answers_the_client_on_its_own_address(ur5e):
    """Dashboard, RTDE and the script port on this suite's loopback address: another suite's
    controller on the same ports at another address neither clashes nor answers here."""
    with _clients(ur5e) as (dashboard, receive, control):
        assert dashboard.polyscopeVersion().startswith("5.26.0")
        assert np.allclose(receive.getActualQ(), get_robot("ur5e").q_home, atol=1e-3)
        assert within(SCRIPT_START_S, control.isProgramRunning)
        assert control.isConnected() and receive.isConnected()


def test_the_client_calls_the_backend_makes_work(ur5e):
    with _clients(ur5e) as (dashboard, receive, control):
        assert dashboard.polyscopeVersion().startswith("5.26.0")
        assert "RUNNING" in dashboard.robotmode() and "NORMAL" in dashboard.safetystatus()
        # the script runs once the controller reports it, as the backend waits for it
        assert within(SCRIPT_START_S, control.isProgramRunning) and receive.getRobotMode() == 7
        assert receive.getSafetyStatusBits() == 1 and receive.getRuntimeState() == 2
        t0, q0, wall0 = receive.getTimestamp(), receive.getActualQ(), time.monotonic()
        target = list(q0)
        for i in range(250):  # 0.5 s of servoJ towards +0.1 rad on the first joint
            start = control.initPeriod()
            target[0] = q0[0] + 0.1 * min(i / 150, 1.0)
            assert control.servoJ(target, 0.0, 0.0, 0.002, 0.1, 300.0)
            control.waitPeriod(start)
        assert abs(receive.getActualQ()[0] - target[0]) < 0.02
        # the controller's clock: 500 Hz periods, never ahead of the wall clock (on a loaded
        # machine it may fall behind: its process waits for a core like the client's)
        periods = (receive.getTimestamp() - t0) / 0.002
        assert abs(periods - round(periods)) < 1e-6
        assert 0 < periods * 0.002 < time.monotonic() - wall0 + 0.05
        assert control.servoStop(10.0)
        assert control.speedJ([0.05, 0, 0, 0, 0, 0], 1.0, 0.002)
        assert control.speedStop(10.0)
        assert control.directTorque([0.0] * 6), _controller_state(receive, control)
        control.stopJ(2.0)
        assert control.setWatchdog(LOADED_WATCHDOG_HZ) and control.kickWatchdog()
        control.stopScript()
        assert within(STOPS_WITHIN_S, lambda: receive.getRuntimeState() == 1)
        assert not control.isProgramRunning()
        assert control.reuploadScript()
        assert within(SCRIPT_START_S, control.isProgramRunning)  # the controller reports it


def test_preflight_and_a_policy_session_from_the_cli_through_the_real_client(
    ur5e, tmp_path, capsys
):
    path = _launch_file(tmp_path)
    assert main(["preflight", "--launch", path, "--address", ur5e, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"]
    argv = ["launch", GOAL, "--launch", path, "--address", ur5e, "--yes", "--speed", "1"]
    assert main([*argv, "--json"]) in (0, 1)  # 1: the policy missed the marker
    out = json.loads(capsys.readouterr().out)
    episode = out["results"][0]
    assert out["preflight"]["ok"] and episode["outcome"] == "completed"  # success: the policy's
    assert 1.9 < episode["timing"]["period_ms"]["median"] < 2.1  # paced by the controller
    assert read_summary(episode["recording"])["outcome"] == "completed"


def test_an_injected_protective_stop_stops_the_session_then_unlock_and_reconnect(tmp_path):
    address = loopback(43)
    plan = make_plan(GOAL, load_launch_file(_launch_file(tmp_path)), address=address, speed=1.0)
    with virtual_controller("ur5e", address):
        robot = open_robot(plan)
        with inject_once_moving(address, "protective_stop"):  # in the policy's episode
            episode = run_plan(plan, robot=robot).episodes[0]
        checks = {e.check: e.message for e in episode.result.events}
        assert episode.result.outcome == "stopped" and not episode.success
        assert "protective_stop" in checks, checks
        assert "protective_stop" in [e["check"] for e in read_summary(episode.run_dir)["events"]]
        dashboard = dashboard_client.DashboardClient(address)
        dashboard.connect()
        dashboard.unlockProtectiveStop()  # raises unless the controller answers as a UR does
        dashboard.disconnect()
        again = run_plan(plan, robot=open_robot(plan))  # connects anew, re-uploads the script
        result = again.episodes[0].result
        assert result.outcome != "stopped", [f"{e.check}: {e.message}" for e in result.events]


def test_a_stalled_client_trips_the_watchdog_and_a_pulled_cable_ends_the_session(tmp_path):
    address = loopback(42)
    # while the controller ignores the client, the arm halts and the policy's reference moves
    # on: for the watchdog (1 / LOADED_WATCHDOG_HZ s) to act first, a tracking bound that the
    # reference cannot outrun in that time
    launch = load_launch_file(_launch_file(tmp_path, tracking_error_max=0.5))
    plan = make_plan(GOAL, launch, address=address, speed=1.0)
    with virtual_controller("ur5e", address):
        robot = open_robot(plan)
        with inject_once_moving(address, "stall"):
            episode = run_plan(plan, robot=robot).episodes[0]
        checks = {e.check for e in episode.result.events}
        assert episode.result.outcome == "stopped" and "watchdog" in checks, checks
        assert request(address, "clear stall") == "ok"
        # the watchdog stopped the arm mid-episode: the next start move brings it back to the
        # start pose first, so measure the policy's motion from that pose once it is reached
        home = get_robot("ur5e").q_home
        with inject_once_moving(address, "communication_loss", start=home):
            episode = run_plan(plan, robot=open_robot(plan)).episodes[0]
        assert episode.result.outcome == "stopped"
        # ur_rtde may see the control script gone (watchdog) a tick before it sees the socket
        # closed (communication_loss): either ends the session; the reconnect below must fail
        checks = {e.check for e in episode.result.events}
        assert checks & {"communication_loss", "watchdog"}, checks
        with pytest.raises(RobotConnectionError, match=address):
            open_robot(plan).connect()


def test_a_joint_faster_than_its_limit_is_a_protective_stop():
    address = loopback(44)
    with virtual_controller("ur5e", address):
        receive = rtde_receive.RTDEReceiveInterface(address)
        control = rtde_control.RTDEControlInterface(address)
        try:
            speed = [float(get_robot("ur5e").spec.dq_max[5]) + 0.5, 0, 0, 0, 0, 0][::-1]
            for _ in range(500):  # 1 s of speedJ above the wrist's limit, 20 rad/s^2
                start = control.initPeriod()
                if not control.speedJ(speed, 20.0, 0.002):
                    break
                control.waitPeriod(start)
            assert receive.isProtectiveStopped()
        finally:
            control.disconnect()
            receive.disconnect()

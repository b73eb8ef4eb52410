"""The UR backend against the ur_rtde stand-in: modes, pacing, stops, watchdog, firmware."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest

from robostack.core.errors import RobostackError, RobotConnectionError, RobotFaultError
from robostack.core.types import JointCommand
from robostack.hardware.rehearsal.standins import rehearsal
from robostack.hardware.rehearsal.standins import ur_rtde as standin
from robostack.hardware.ur import URConfig, URRobot
from tests.hardware.helpers import checks, run_session

ADDRESS = "192.168.1.10"


def _ur(robot="ur5e", firmware=None, **config):
    """A context: a URRobot on a (not real-time) stand-in, and the virtual arm."""
    from contextlib import contextmanager

    @contextmanager
    def opened():
        with rehearsal("ur_rtde", robot, ADDRESS, realtime=False, firmware=firmware) as (
            client,
            arm,
        ):
            ur = URRobot(robot=robot, address=ADDRESS, config=URConfig(**config), client=client)
            with ur:
                yield ur, arm

    return opened()


@pytest.mark.parametrize(
    ("robot", "mode"),
    [("ur5e", "servoj"), ("ur5e", "speedj"), ("ur5e", "torque"), ("ur5", "servoj")],
)
def test_each_command_mode_tracks_a_move_at_the_controller_rate(robot, mode):
    with _ur(robot, command_mode=mode) as (ur, arm):
        result = run_session(ur, seconds=2.5, offset=0.2)
        assert result.outcome == "completed" and not result.events
        assert result.error_max.max() < 0.02
        # waitPeriod: one controller period per tick, and one for the read after the loop (the
        # loop's start may read once more, when its first chunk took longer than a period)
        assert result.ticks == round(2.5 * ur.spec.control_rate_hz)
        assert result.duration == pytest.approx((result.ticks + 1) * ur.spec.dt, abs=1e-9)
        assert arm.t >= result.duration
        ur.end_motion()
        assert not standin._controller(ADDRESS).running  # the script is stopped between runs
        assert run_session(ur, seconds=0.2).outcome == "completed"  # and re-uploaded after


@pytest.mark.parametrize(("robot", "firmware"), [("ur5e", "5.20.0"), ("ur5", None)])
def test_torque_mode_is_refused_before_anything_moves_on_older_controllers(robot, firmware):
    with (
        rehearsal("ur_rtde", robot, ADDRESS, realtime=False, firmware=firmware) as (client, arm),
        pytest.raises(RobostackError, match=r"torque mode needs PolyScope 5\.26"),
    ):
        URRobot(
            robot=robot, address=ADDRESS, config=URConfig(command_mode="torque"), client=client
        ).connect()
    assert arm.steps == 0


def test_connection_refused_is_a_clear_error():
    with (
        rehearsal("ur_rtde", "ur5e", ADDRESS, realtime=False) as (client, _),
        pytest.raises(RobotConnectionError, match="connection refused"),
    ):
        URRobot(address="192.168.1.99", client=client).connect()


@pytest.mark.parametrize("fault", ["protective_stop", "emergency_stop", "communication_loss"])
def test_stops_and_a_lost_connection_become_safety_events_within_one_period(fault):
    with _ur() as (ur, arm):
        arm.inject(fault, at=0.4)
        result = run_session(ur, seconds=1.0)
        assert result.outcome == "stopped" and fault in checks(result)
        event = next(e for e in result.events if e.check == fault)
        # raised by the first read after it; the event carries the last good state's time
        assert abs(event.t - 0.4) <= ur.spec.dt + 1e-9


def test_an_expired_watchdog_stops_the_arm_and_the_loop():
    with _ur(watchdog_hz=50.0) as (ur, arm):
        arm.inject("stall", at=0.4)  # the controller stops hearing the client
        result = run_session(ur, seconds=1.0)
        assert result.outcome == "stopped" and "watchdog" in checks(result)
        event = next(e for e in result.events if e.check == "watchdog")
        assert abs(event.t - (0.4 + 1 / 50)) <= 2 * ur.spec.dt + 1e-9


def test_servoj_settings_outside_ur_ranges_are_refused():
    with pytest.raises(ValueError, match="lookahead_s"):
        URConfig(lookahead_s=0.5)
    with pytest.raises(ValueError, match="gain"):
        URConfig(gain=50)
    with pytest.raises(ValueError, match="command_mode"):
        URConfig(command_mode="movej")


def test_close_stops_the_arm_on_every_exit_path():
    with pytest.raises(RuntimeError, match="boom"), _ur() as (ur, arm):
        run_session(ur, seconds=0.2, offset=0.1)
        raise RuntimeError("boom")
    c = standin._CONTROLLERS[id(arm)]
    assert c.mode == "idle" and not c.running  # stopped, script ended, disconnected
    assert np.abs(arm.state().dq).max() < 1.0


def _hold(ur: URRobot, q: np.ndarray) -> JointCommand:
    return JointCommand(mode=ur.command_mode, values=q)


class _Reconnecting(standin.RTDEControlInterface):
    """The stand-in's control interface as ur_rtde's behaves once the controller closes the
    connection: its receive thread tears the socket down and reconnects, and its isConnected()
    can say True meanwhile (a fresh socket being negotiated). Records every call but the
    connection state, the pacing and disconnect made after the loss."""

    QUIET = frozenset({"isConnected", "initPeriod", "waitPeriod", "disconnect"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.after_loss = []

    @property
    def lost(self) -> bool:
        return not self._c.connected

    def isConnected(self) -> bool:  # noqa: N802 (ur_rtde's name)
        return True

    def __getattribute__(self, name: str):
        attribute = super().__getattribute__(name)
        quiet = name.startswith("_") or name in _Reconnecting.QUIET
        if not quiet and callable(attribute) and super().__getattribute__("lost"):
            super().__getattribute__("after_loss").append(name)
        return attribute


def test_after_a_lost_connection_only_disconnect_reaches_the_client_even_as_it_reconnects():
    with rehearsal("ur_rtde", "ur5e", ADDRESS, realtime=False) as (client, arm):
        reconnecting = SimpleNamespace(**vars(client))
        reconnecting.RTDEControlInterface = _Reconnecting
        ur = URRobot(address=ADDRESS, client=reconnecting)
        with ur:
            control = ur._control
            arm.inject("communication_loss", at=0.4)
            result = run_session(ur, seconds=1.0)
            with pytest.raises(RobotFaultError, match="RTDE connection"):
                ur.write(_hold(ur, np.zeros(ur.spec.dof)))  # refused before it is sent
        assert result.outcome == "stopped" and "communication_loss" in checks(result)
        assert control.lost and control.after_loss == []


WAIT_S = 30.0  # for a thread to get as far as it must: at once, unless a loaded machine delays it


def test_client_calls_and_close_from_two_threads_never_overlap():
    """One lock serializes every call into the client and its disconnect: a close from another
    thread waits for the call under way, and no call follows it."""
    inside = threading.Event()
    release = threading.Event()
    order = []

    class Slow(standin.RTDEControlInterface):
        def servoJ(self, *args) -> bool:  # noqa: N802 (ur_rtde's name)
            inside.set()
            release.wait(WAIT_S)
            order.append("servoJ")
            return super().servoJ(*args)

        def disconnect(self) -> None:
            order.append("disconnect")
            super().disconnect()

    with rehearsal("ur_rtde", "ur5e", ADDRESS, realtime=False) as (client, _):
        slow = SimpleNamespace(**vars(client))
        slow.RTDEControlInterface = Slow
        ur = URRobot(address=ADDRESS, client=slow)
        ur.connect()
        q = ur.read().q
        writer = threading.Thread(target=ur.write, args=(_hold(ur, q),))
        writer.start()
        assert inside.wait(WAIT_S)
        closer = threading.Thread(target=ur.close)
        closer.start()
        closer.join(0.2)
        assert closer.is_alive()  # waits for the command under way
        release.set()
        writer.join(WAIT_S)
        closer.join(WAIT_S)
        assert order == ["servoJ", "disconnect"]
        with pytest.raises(RobostackError, match="not connected"):
            ur.write(_hold(ur, q))

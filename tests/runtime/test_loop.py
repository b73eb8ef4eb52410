"""The control loop under both clocks."""

from __future__ import annotations

import time

import numpy as np
import pytest

from robostack.benchmarks.faults import RobotWrapper
from robostack.core.errors import LimitError, ObservationError
from robostack.core.robots import get_robot
from robostack.core.types import CommandMode, JointCommand, TrajectoryChunk
from robostack.runtime.loop import ControlLoop, LockstepClock, RobotPacedClock, WallClock
from robostack.runtime.safety import SafetyConfig
from robostack.sessions.tracking import TrackingOptions, run_tracking, tracking_session


def test_lockstep_runs_are_bit_identical_for_the_same_seed():
    options = TrackingOptions(
        robot="panda", controller="pid", reference="circle", seed=11, record=False
    )
    a, b = run_tracking(options).result, run_tracking(options).result
    assert np.array_equal(a.final_state.q, b.final_state.q)
    assert np.array_equal(a.final_state.dq, b.final_state.dq)
    assert np.array_equal(a.error_rms, b.error_rms) and np.array_equal(a.error_max, b.error_max)


class _Watched:
    """The loop's clock, passed through, recording per tick the deadline it waited for (ns),
    how late it says the tick starts (ns) and when it handed the tick over (perf_counter ns)."""

    def __init__(self, clock: WallClock):
        self.clock, self.realtime, self.robot_paced = clock, clock.realtime, clock.robot_paced
        self.deadlines: list[int] = []
        self.lateness: list[int] = []
        self.returned: list[int] = []

    def start(self) -> None:
        self.clock.start()

    def wait_next(self) -> int:
        self.deadlines.append(self.clock.deadline)
        lateness = self.clock.wait_next()
        self.returned.append(time.perf_counter_ns())
        self.lateness.append(lateness)
        return lateness


def test_wall_clock_paces_ticks_at_one_kilohertz():
    """Every tick waits for its deadline on a 1 ms grid of wall time and never starts before
    it; only a tick that starts more than a period late skips the periods it missed. (How
    late ticks start is the machine's: a loaded one makes them late, never early.)"""
    options = TrackingOptions(
        robot="ur5e", controller="impedance", reference="sweep", realtime=True, record=False
    )
    with tracking_session(options) as session:
        clock = session.loop.clock = _Watched(session.loop.clock)
        result = session.loop.run(ticks=300)
    deadlines, lateness, returned = (
        np.array(v) for v in (clock.deadlines, clock.lateness, clock.returned)
    )
    assert deadlines.size == 300 and np.all(returned >= deadlines) and np.all(lateness >= 0)
    steps = np.diff(deadlines)
    assert np.all(steps >= 1_000_000) and np.all(steps % 1_000_000 == 0)  # the 1 ms grid
    assert np.array_equal(steps > 1_000_000, lateness[:-1] > 1_000_000)
    assert result.duration == pytest.approx(0.3, abs=1e-9)  # 300 physics steps of 1 ms


class _FakeTime:
    """A clock that only moves when told to (sleep moves it; each reading adds 1 us)."""

    def __init__(self):
        self.ns = 0

    def now(self) -> int:
        self.ns += 1_000
        return self.ns

    def sleep(self, seconds: float) -> None:
        self.ns += round(seconds * 1e9)


def test_wall_clock_waits_for_its_deadlines():
    fake = _FakeTime()
    clock = WallClock(1e-3, now=fake.now, sleep=fake.sleep)
    clock.start()
    starts = []
    for _ in range(5):
        clock.wait_next()
        starts.append(fake.ns)
    assert np.allclose(np.diff(starts), 1_000_000, atol=5_000)


def test_wall_clock_skips_missed_periods_instead_of_bursting():
    fake = _FakeTime()
    clock = WallClock(1e-3, now=fake.now, sleep=fake.sleep)
    clock.start()
    clock.wait_next()
    fake.ns += 5_300_000  # the last tick took 5.3 ms
    lateness = clock.wait_next()
    assert lateness >= 4_300_000
    assert clock.deadline > fake.ns  # the next deadline is ahead, not in the past
    assert clock.deadline - fake.ns <= 1_000_000  # and at most one period away


class _OneChunk:
    def __init__(self, q):
        self.q = q

    def next_chunk(self, state):
        return TrajectoryChunk(t0=state.t, dt=0.1, q=self.q, obs_time=state.t)


def test_a_first_chunk_outside_the_limits_is_refused_before_anything_moves():
    options = TrackingOptions(
        robot="panda", controller="impedance", reference="circle", record=False
    )
    with tracking_session(options) as session:
        robot = session.robot
        q = np.tile(robot.read().q, (16, 1))
        q[10, 1] = 1.9  # panda_joint2 stops at 1.7628
        session.loop.source = _OneChunk(q)
        start = robot.read()
        with pytest.raises(LimitError, match=r"chunk for joint panda_joint2 is 1\.9000 rad"):
            session.loop.run(ticks=10)
        assert robot.read().t == start.t  # no physics step was taken


def test_a_first_chunk_with_a_bad_gripper_width_holds_the_arm_where_it_stands():
    options = TrackingOptions(
        robot="panda", controller="impedance", reference="circle", record=False
    )
    with tracking_session(options) as session:
        robot = session.robot
        start = robot.read()
        q = np.tile(start.q, (16, 1))

        class WideOpen(_OneChunk):
            def next_chunk(self, state):
                return TrajectoryChunk(t0=state.t, dt=0.1, q=self.q, gripper=np.full(16, 0.5))

        session.loop.source = WideOpen(q)
        result = session.loop.run(ticks=2000)
        assert result.outcome == "held" and result.events[0].check == "chunk_gripper"
        assert np.abs(robot.read().q - start.q).max() < 1e-3  # held where it stood


def test_a_first_chunk_that_kept_the_loop_waiting_is_retimed_to_when_it_came():
    """A real robot's clock runs on while another process's policy starts: the chunk computed
    for the still arm is moved to the state read after it came."""
    options = TrackingOptions(
        robot="panda", controller="impedance", reference="circle", record=False
    )
    with tracking_session(options) as session:
        robot = session.robot
        q = np.tile(robot.read().q, (16, 1))

        class Slow(_OneChunk):
            def next_chunk(self, state):
                time.sleep(0.01)
                robot.write(JointCommand.torque(np.zeros(7)))  # the robot's clock moves on
                return super().next_chunk(state)

        class Chunks(list):  # the loop's recorder, keeping only the chunks
            def record(self, *tick):
                pass

            def record_chunk(self, tick, t, chunk):
                self.append((t, chunk))

        session.loop.source, session.loop.recorder = Slow(q), Chunks()
        before = robot.read().t
        session.loop.run(ticks=1)
        ((t, chunk),) = session.loop.recorder
        assert t == pytest.approx(before + 1e-3) and chunk.t0 == pytest.approx(t)


def test_loop_refuses_nonsense_settings():
    with pytest.raises(ValueError, match="chunk_period_ticks"):
        ControlLoop(
            robot=None,
            controller=None,
            source=None,
            clock=LockstepClock(),
            safety=None,
            interpolator=None,
            chunk_period_ticks=0,
        )


READ_TIMEOUT_S = 0.5  # a read a loaded machine delays is not the slow one
SLOW_READ_S = 2 * READ_TIMEOUT_S


class _SlowRead(RobotWrapper):
    """A robot (wrapping the simulation) whose read takes `SLOW_READ_S` once, at tick ``at``:
    the first read of the state ``at`` periods after the one it starts at (the loop's start
    may read that one twice, when its first chunk took longer than a period)."""

    def __init__(self, robot, at):
        super().__init__(robot)
        self.slow_t, self.slowed = robot.read().t + at * robot.spec.dt, False

    def read(self):
        state = self.robot.read()
        if not self.slowed and state.t >= self.slow_t - 1e-9:
            self.slowed = True
            time.sleep(SLOW_READ_S)
        return state


def test_a_slow_read_on_a_robot_paced_clock_stops_the_session():
    options = TrackingOptions(robot="panda", controller="impedance", record=False)
    safety = SafetyConfig.for_robot(get_robot("panda").spec, read_timeout_s=READ_TIMEOUT_S)
    with tracking_session(options, safety_config=safety) as session:
        session.loop.robot = _SlowRead(session.robot, at=300)
        session.loop.clock = RobotPacedClock()
        result = session.loop.run(ticks=1000)
    (event,) = result.events
    assert event.check == "backend_read" and event.tick == 300 and result.outcome == "stopped"
    assert "a read took" in event.message and result.ticks == 300


class _FailingWrite(_SlowRead):
    def write(self, command):
        self.calls_w = getattr(self, "calls_w", 0) + 1
        if self.calls_w == 200:
            raise ConnectionError("link down")
        self.robot.write(command)


def test_a_failed_write_stops_and_leaves_zero_torque():
    options = TrackingOptions(robot="panda", controller="impedance", record=False)
    with tracking_session(options) as session:
        session.loop.robot = _FailingWrite(session.robot, at=10**9)
        result = session.loop.run(ticks=1000)
        assert not session.robot.data.ctrl[:7].any()  # released: zero torque left applied
    assert result.events[0].check == "backend_write" and result.outcome == "stopped"


class _FailingServo(RobotWrapper):
    """A position-servoing robot (UR's servoJ) whose 200th write fails; the sim stays put."""

    def __init__(self, robot):
        super().__init__(robot)
        self.command_mode, self.writes, self.ended = CommandMode.POSITION, 0, 0

    def write(self, command):
        self.writes += 1
        if self.writes == 200:
            raise ConnectionError("link down")

    def end_motion(self):
        self.ended += 1


def test_a_failed_write_to_a_servoing_robot_ends_with_its_own_stop():
    options = TrackingOptions(robot="ur5e", controller="impedance", record=False)
    with tracking_session(options) as session:
        session.loop.robot = robot = _FailingServo(session.robot)
        result = session.loop.run(ticks=1000)
    assert result.events[0].check == "backend_write" and result.outcome == "stopped"
    assert (robot.writes, robot.ended) == (200, 1)  # no position target after the failure


def test_a_safety_config_for_another_robot_is_refused():
    from robostack.core.robots import get_robot
    from robostack.runtime.safety import SafetyConfig

    with pytest.raises(ValueError, match="the safety config is for ur5e"):
        run_tracking(
            TrackingOptions(robot="panda", record=False),
            safety_config=SafetyConfig.for_robot(get_robot("ur5e").spec),
        )


def test_an_observation_the_source_must_not_act_on_holds_the_arm():
    """A stale camera frame (`ObservationError` from the chunk source) is a HOLD with its
    check, value and limit, not a crash."""
    options = TrackingOptions(
        robot="panda", controller="impedance", reference="circle", record=False
    )
    with tracking_session(options) as session:
        robot = session.robot
        q = np.tile(robot.read().q, (16, 1))

        class GoesStale(_OneChunk):
            calls = 0  # chunks handed over; the fourth observation is stale

            def next_chunk(self, state):
                if self.calls >= 3:
                    raise ObservationError("camera_stale", "frame 0.4 s old", value=0.4, limit=0.1)
                self.calls += 1
                return TrajectoryChunk(t0=state.t, dt=0.1, q=self.q)

        session.loop.source = GoesStale(q)
        result = session.loop.run(ticks=3000)
    assert result.outcome == "held", result.events
    (event,) = result.events
    assert (event.check, event.value, event.limit, event.message) == (
        "camera_stale",
        0.4,
        0.1,
        "frame 0.4 s old",
    )
    assert event.tick == 3 * session.loop.chunk_period_ticks

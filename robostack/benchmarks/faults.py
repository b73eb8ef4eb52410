"""Fault injection: break one thing in a recorded MuJoCo tracking session, measure the reaction.

Each scenario wraps one component of a real session (the chunk source, the controller, the
robot, the reference) so that it misbehaves at a known tick, runs the session through the
safety monitor and the recorder, and reports which check fired, with what reaction, how many
ticks after the fault. ``robostack bench faults`` prints the table; the tests assert on it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robostack.controllers import JointImpedance
from robostack.controllers.gains import DEFAULT_GAINS
from robostack.controllers.references import ReferenceChunker, WaypointReference
from robostack.core.model import RigidBodyModel
from robostack.core.robots import get_robot
from robostack.core.types import JointReference, JointState, TrajectoryChunk
from robostack.runtime.safety import SafetyConfig
from robostack.sessions.tracking import TrackingOptions, TrackingSession, tracking_session

FAULT_TICK = 1600  # a chunk request (every 800 ticks) in the middle of the sweep's first move


@dataclass(frozen=True)
class FaultResult:
    """What happened after one injected fault.

    Attributes:
        name: scenario name.  check: the check expected to fire.
        fault_tick: tick at which the fault took effect.
        event: the first event of ``check`` (its dict), or None if it never fired.
        reaction_ticks: event tick - fault tick (None if it never fired).
        outcome: the session's outcome.  ticks: ticks run.
        run_dir: the recording.
    """

    name: str
    check: str
    fault_tick: int
    event: dict | None
    reaction_ticks: int | None
    outcome: str
    ticks: int
    run_dir: Path | None


# --- injectors -------------------------------------------------------------------------


class ChunkFault:
    """From ``tick`` on, chunks pass through ``corrupt`` (which may return None: silence)."""

    def __init__(self, source, tick: int, corrupt: Callable[[TrajectoryChunk], object]):
        self.source, self.tick, self.corrupt = source, tick, corrupt

    def next_chunk(self, state: JointState):
        chunk = self.source.next_chunk(state)
        if round(state.t * 1000) >= self.tick:
            return self.corrupt(chunk)
        return chunk


def _with_q(chunk: TrajectoryChunk, q: np.ndarray) -> TrajectoryChunk:
    return dataclasses.replace(chunk, q=q)


def _nan(chunk):
    q = chunk.q.copy()
    q[4:, 0] = np.nan
    return _with_q(chunk, q)


def _jump(chunk):
    return _with_q(chunk, chunk.q + np.eye(chunk.q.shape[1])[1] * 0.5)


class TorqueSpike:
    """Adds ``torque`` Nm on ``joint`` to the controller's output at one tick."""

    def __init__(self, controller, tick: int, joint: int, torque: float):
        self.controller, self.tick, self.joint, self.torque = controller, tick, joint, torque

    def reset(self):
        self.controller.reset()

    def update(self, state: JointState, reference: JointReference) -> np.ndarray:
        tau = self.controller.update(state, reference)
        if round(state.t * 1000) == self.tick:
            tau = tau.copy()
            tau[self.joint] += self.torque
        return tau


class RobotWrapper:
    """Delegates read, write and the physics timing to a simulated ``robot``."""

    def __init__(self, robot):
        self.robot, self.spec = robot, robot.spec
        self.command_mode, self.paces_itself = robot.command_mode, robot.paces_itself

    def read(self):
        return self.robot.read()

    def write(self, command):
        self.robot.write(command)

    @property
    def physics_ns(self):
        return self.robot.physics_ns


class FailingRead(RobotWrapper):
    """Raises from ``read`` on its ``calls``-th call."""

    def __init__(self, robot, calls: int):
        super().__init__(robot)
        self.calls = calls

    def read(self):
        self.calls -= 1
        if self.calls < 0:
            raise ConnectionError("simulated loss of the robot connection")
        return self.robot.read()


class ContactWatch(RobotWrapper):
    """Remembers the first tick after which the arm touched the scene."""

    def __init__(self, robot):
        super().__init__(robot)
        self.first_contact_tick = None

    def write(self, command):
        self.robot.write(command)
        if self.first_contact_tick is None and self.robot.data.ncon:
            self.first_contact_tick = round(self.robot.data.time * 1000) - 1


# --- scenarios -------------------------------------------------------------------------


def _into_the_table(session: TrackingSession) -> ContactWatch:
    """Replace the reference by a slow straight-down move that ends 5 cm inside the table."""
    description = get_robot(session.options.robot)
    model = RigidBodyModel(description)
    home = description.q_home
    position, rotation = model.tool_pose(home)
    target = model.inverse_kinematics(np.array([position[0], position[1], -0.05]), rotation, home)
    spec = description.spec
    down = WaypointReference(
        "down", np.stack([home, target.q]), dq_max=spec.dq_max, ddq_max=spec.ddq_max, speed=0.3
    )
    session.loop.source = ReferenceChunker(down)
    watch = ContactWatch(session.robot)
    session.loop.robot = watch
    return watch


def _unstable_gains(session: TrackingSession) -> None:
    """A sign error in the damping gains: negative damping pumps energy in, speeds run away."""
    gains = DEFAULT_GAINS[session.options.robot]["impedance"]
    damping = -np.array(gains["damping"], dtype=float)
    session.loop.controller = JointImpedance(stiffness=gains["stiffness"], damping=damping)


@dataclass(frozen=True)
class Scenario:
    """One fault: its name, the check that must catch it, and how to inject it."""

    name: str
    check: str
    inject: Callable[[TrackingSession], object]
    fault_tick: int = FAULT_TICK
    safety: dict = dataclasses.field(default_factory=dict)


def _source_fault(corrupt):
    def inject(session):
        session.loop.source = ChunkFault(session.loop.source, FAULT_TICK, corrupt)

    return inject


def _beyond_limit(session):
    q_max = session.robot.spec.q_max

    def corrupt(chunk):
        q = chunk.q.copy()
        q[8:, 1] = q_max[1] + 0.1
        return _with_q(chunk, q)

    session.loop.source = ChunkFault(session.loop.source, FAULT_TICK, corrupt)


def _spike(session):
    session.loop.controller = TorqueSpike(session.loop.controller, FAULT_TICK, 1, 200.0)


def _read_fails(session):
    session.loop.robot = FailingRead(session.robot, calls=FAULT_TICK + 1)  # +1: the start read


def _operator(session):
    safety, tick = session.safety, FAULT_TICK

    class StopAt(ChunkFault):
        def next_chunk(self, state):
            if round(state.t * 1000) == tick:
                safety.stop("bench")
            return self.source.next_chunk(state)

    session.loop.source = StopAt(session.loop.source, tick, None)


def _disk_full(session):
    """From the fault tick on, the run folder's disk counts as full (the recorder's reserve
    above any disk's size): the recorder notices within its flush period, in wall time."""
    recorder, tick = session.loop.recorder, FAULT_TICK

    class FullAt(ChunkFault):
        def next_chunk(self, state):
            if round(state.t * 1000) == tick:
                recorder.min_free_bytes = 1 << 62
            return self.source.next_chunk(state)

    session.loop.source = FullAt(session.loop.source, tick, None)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario("nan_reference", "chunk_nonfinite", _source_fault(_nan)),
        Scenario("reference_jump_0.5rad", "chunk_jump", _source_fault(_jump)),
        Scenario("reference_beyond_limit", "chunk_limit", _beyond_limit),
        Scenario("torque_spike_200Nm", "torque_limit", _spike),
        Scenario("unstable_gains", "velocity_limit", _unstable_gains, fault_tick=0),
        # chunks stop at 1600; the last one came at 800, so the 1 s watchdog is due at 1800
        Scenario(
            "stale_reference",
            "stale_reference",
            _source_fault(lambda chunk: None),
            fault_tick=FAULT_TICK - 800 + 1000,
        ),
        Scenario("backend_read_raises", "backend_read", _read_fails),
        Scenario("operator_stop", "operator_stop", _operator),
        Scenario("recording_disk_full", "operator_stop", _disk_full),
        Scenario(
            "arm_into_table",
            "collision",
            _into_the_table,
            fault_tick=-1,  # the first contact, found while running
            safety={"workspace_min": np.array([-1.0, -1.0, -1.0])},
        ),
    ]
}


def run_fault(
    name: str, *, runs_dir: Path, robot: str = "panda", controller: str = "impedance"
) -> FaultResult:
    """Run scenario ``name`` in a recorded lockstep session and measure the reaction."""
    scenario = SCENARIOS[name]
    options = TrackingOptions(
        robot=robot, controller=controller, reference="sweep", runs_dir=runs_dir
    )
    description = get_robot(robot)
    config = SafetyConfig.for_robot(
        dataclasses.replace(description.spec, control_rate_hz=1000.0), **scenario.safety
    )
    with tracking_session(options, safety_config=config) as session:
        injected = scenario.inject(session)
        result = session.loop.run(ticks=min(session.ticks, 8000))
        session.summary = {
            "name": f"fault-{name}",
            "outcome": result.outcome,
            "ticks": result.ticks,
            "events": [e.to_dict() for e in result.events],
        }
    fault_tick = scenario.fault_tick
    if isinstance(injected, ContactWatch):
        fault_tick = injected.first_contact_tick if injected.first_contact_tick is not None else -1
    event = next((e for e in result.events if e.check == scenario.check), None)
    return FaultResult(
        name=name,
        check=scenario.check,
        fault_tick=fault_tick,
        event=None if event is None else event.to_dict(),
        reaction_ticks=None if event is None or fault_tick < 0 else event.tick - fault_tick,
        outcome=result.outcome,
        ticks=result.ticks,
        run_dir=session.run_dir,
    )

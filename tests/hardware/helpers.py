"""Shared by the hardware tests."""

from __future__ import annotations

import json
from pathlib import Path

from robostack.benchmarks import hardware
from robostack.controllers.references import Dwell, ReferenceChunker
from robostack.core.model import RigidBodyModel
from robostack.core.robot import Robot
from robostack.core.robots import get_robot
from robostack.runtime.assembly import make_loop, recording
from robostack.runtime.loop import LoopResult
from robostack.runtime.recording import SUMMARY
from robostack.runtime.safety import SafetyConfig
from robostack.runtime.safety.overrides import SafetyOverrides

# Bounds for sessions on a shared machine, set through the keys the product has. There the
# controller (a stand-in or a virtual one), the loop and the policy share two cores with other
# work, and a read now and then waits tens of ms for a core (22 ms seen with a 20 ms bound):
# real time and every check stay, with room for such waits. On a real robot the defaults stand
# (a 5 ms read timeout, a 50 Hz RTDE watchdog).
LOADED_READ_TIMEOUT_S = 0.25
LOADED_STALE_REFERENCE_S = 3.0  # a starved loop takes longer for the 100 ticks between chunks
LOADED_WATCHDOG_HZ = 10.0  # UR: the controller stops the script after 0.1 s without input
# Franka: periods in a row without a command before the virtual FCI aborts the motion
# (FCI's 20 there: a client that waits 20 ms for a core trips it); as long as a read may take
LOADED_LOST_COMMANDS = round(LOADED_READ_TIMEOUT_S * 1e3)
CLOSE_THE_HAND_S = 4.0  # a grasp on nothing closes the Hand fully in under 2 s


def for_a_loaded_machine(launch_text: str) -> str:
    """A real-robot launch file's text with the bounds above in its [safety] (and, for UR,
    [connection]) table."""
    safety = (
        f"read_timeout_s = {LOADED_READ_TIMEOUT_S}\nstale_reference_s = {LOADED_STALE_REFERENCE_S}"
    )
    text = launch_text.replace("[safety]\n", f"[safety]\n{safety}\n", 1)
    if 'backend = "ur_rtde"' in text:
        text = text.replace(
            "[connection]\n", f"[connection]\nwatchdog_hz = {LOADED_WATCHDOG_HZ}\n", 1
        )
    return text


def loaded_overrides(robot: Robot) -> SafetyOverrides:
    """``robot``'s default safety config as overrides, with `LOADED_READ_TIMEOUT_S` and
    `LOADED_STALE_REFERENCE_S`."""
    defaults = SafetyConfig.for_robot(robot.spec)
    return SafetyOverrides(
        velocity_fraction=defaults.velocity_fraction,
        tracking_error_max=defaults.tracking_error_max,
        collision_torque=tuple(defaults.collision_torque.tolist()),
        stale_reference_s=LOADED_STALE_REFERENCE_S,
        read_timeout_s=LOADED_READ_TIMEOUT_S,
    )


def run_session(robot: Robot, **options) -> LoopResult:
    """`robostack.benchmarks.hardware.run_session` with `LOADED_READ_TIMEOUT_S`."""
    return hardware.run_session(robot, read_timeout_s=LOADED_READ_TIMEOUT_S, **options)


def read_summary(run_dir) -> dict:
    """The summary.json of a recorded run."""
    return json.loads((Path(run_dir) / SUMMARY).read_text())


def checks(result: LoopResult) -> list[str]:
    return [event.check for event in result.events]


def close_the_hand(robot: Robot, *, runs_dir: Path) -> tuple[LoopResult, Path]:
    """A recorded session on the connected Franka ``robot`` that holds the arm still and sends
    pick_place's close command (gripper width 0) for `CLOSE_THE_HAND_S`, with
    `LOADED_READ_TIMEOUT_S`; the loop's result and the run folder. Ends the motion."""
    description = get_robot("panda")
    state = robot.read()
    close = Dwell("close", state.q, CLOSE_THE_HAND_S)
    close.gripper_width = 0.0
    loop = make_loop(
        robot=robot,
        model=RigidBodyModel(description),
        source=ReferenceChunker(close, t_offset=state.t),
        controller="impedance",
        realtime=True,
        safety_config=loaded_overrides(robot).config(robot.spec),
    )
    with recording(loop, runs_dir=runs_dir, name="close", description=description) as rec:
        result = loop.run(ticks=round(CLOSE_THE_HAND_S * robot.spec.control_rate_hz))
        robot.end_motion()  # at once: the robot aborts a motion left without commands
        rec.summary = {"outcome": result.outcome}
    return result, rec.run_dir

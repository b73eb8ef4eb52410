"""Launch files: TOML naming robot, backend, task, policy, controller, safety and recording.

A launch file has up to nine tables; every key is optional and defaults to the value below
(the simulated Panda). `load_launch_file` refuses unknown tables or keys, wrong types and
out-of-range values with `LaunchFileError`, which names the file, the key and the reason.

```toml
[session]     name, goal (the sentence when the command line gives none), task ("from_goal"
              or a task name), seed, episodes
[robot]       name (panda | ur5e | ur5), backend (mujoco | pybullet | isaacgym | franka_fci |
              ur_rtde; isaacgym: $ROBOSTACK_ISAACGYM_PYTHON names Isaac Gym's Python)
[policy]      checkpoint, sampler, sampling_steps, guidance_scale, [policy.tasks] overrides
[controller]  name (pid | impedance | computed_torque), [controller.gains] overrides
[safety]      profile (simulation | real_robot), velocity_scale, tracking_error_max,
              collision_torque_fraction, stale_reference_s, read_timeout_s
[recording]   enabled, runs_dir, episodes (record the first N of a multi-episode launch)
[connection]  real robots only: address, command_mode (UR: servoj | speedj | torque;
              Franka: torque | velocity),
              payload_kg, realtime (Franka: enforce | ignore), gripper (Franka)
[ipc]         split (run the policy in its own process), shared (the shared channels instead
              of the session's own), url, prefix, session_tag, status_decimation,
              max_chunk_age_s, policy_timeout_s, startup_timeout_s, image_encoding (jpeg |
              rgb8), jpeg_quality (`robostack.transport.IpcConfig`)
[cameras.<name>]  real robots only, one table per camera the policy sees: backend (opencv |
              realsense | virtual), device (OpenCV: index, device path or video file;
              virtual: the virtual robot's scene camera) or serial (RealSense), width,
              height, fps, fx, fy, cx, cy, mount (world | wrist), position, look_at and up, or
              quaternion, max_age_s, loop
              (`robostack.runtime.cameras.CameraConfig`)
```
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from robostack.controllers import CONTROLLER_NAMES
from robostack.core.errors import RobostackError
from robostack.core.robots import ROBOTS
from robostack.policies.dit.configuration import SAMPLERS
from robostack.runtime.backends import BACKEND_NAMES, REAL_BACKENDS
from robostack.runtime.cameras import CameraConfig
from robostack.transport.config import IpcConfig, new_session_tag

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PROFILES = ("simulation", "real_robot")
REAL_ROBOT_VELOCITY_SCALE = 0.25  # the real_robot profile's default share of dq_max
FROM_GOAL = "from_goal"
COMMAND_MODES = {"franka_fci": ("torque", "velocity"), "ur_rtde": ("servoj", "speedj", "torque")}


class LaunchFileError(RobostackError):
    """A launch file that cannot be used: names the file, the key and why."""

    def __init__(self, path: Path | str, key: str, reason: str):
        self.path, self.key, self.reason = str(path), key, reason
        super().__init__(f"{path}: {key}: {reason}")


def _one_of(options) -> dict:
    return {"check": lambda v: None if v in options else f"must be one of {', '.join(options)}"}


def _within(lo: float, hi: float, *, open_lo: bool = False) -> dict:
    def check(v):
        ok = (lo < v if open_lo else lo <= v) and v <= hi
        return None if ok else f"must be in {'(' if open_lo else '['}{lo}, {hi}], got {v}"

    return {"check": check}


@dataclass(frozen=True)
class SessionSection:
    """name: the session's name in run folders.  goal: the sentence to launch when the
    command line gives none.  task: a task name, or "from_goal" to take it from the sentence.
    seed: the first episode's scene seed.  episodes: how many."""

    name: str = "launch"
    goal: str = ""
    task: str = FROM_GOAL
    seed: int = field(default=0, metadata=_within(0, 2**31 - 1))
    episodes: int = field(default=1, metadata=_within(1, 100_000))


@dataclass(frozen=True)
class RobotSection:
    name: str = field(default="panda", metadata=_one_of(tuple(ROBOTS)))
    backend: str = field(default="mujoco", metadata=_one_of(BACKEND_NAMES))

    @property
    def real(self) -> bool:
        return self.backend in REAL_BACKENDS

    @property
    def twin(self) -> bool:
        """The robot lives outside the stack's simulators (a real arm, Isaac Gym's bridge):
        a task's scene is its MuJoCo twin, and only arm-only tasks run."""
        return self.real or self.backend == "isaacgym"


@dataclass(frozen=True)
class PolicySection:
    """checkpoint: a folder under assets/checkpoints/, or a path (relative paths from the
    launch file's folder); empty: assets/checkpoints/<task>, the shipped per-task policy.
    tasks: task -> checkpoint, overriding ``checkpoint`` for those tasks."""

    checkpoint: str = ""
    sampler: str = field(default="ddim", metadata=_one_of(SAMPLERS))
    sampling_steps: int = field(default=10, metadata=_within(1, 100))
    guidance_scale: float = field(default=1.0, metadata=_within(0.0, 10.0))
    tasks: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ControllerSection:
    """gains: overrides of `robostack.controllers.gains` (per-joint lists)."""

    name: str = field(default="computed_torque", metadata=_one_of(CONTROLLER_NAMES))
    gains: dict[str, list[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class SafetySection:
    """velocity_scale: share of each joint's velocity limit the session may use (chunks are
    slowed to it and the monitor stops beyond it); 0 = the profile's default (1 in
    simulation, 0.25 on a real robot). read_timeout_s: STOP when a state read takes longer,
    s; 0 = the default (5 ms or two control periods, whichever is longer)."""

    profile: str = field(default="simulation", metadata=_one_of(PROFILES))
    velocity_scale: float = field(default=0.0, metadata=_within(0.0, 1.0))
    tracking_error_max: float = field(default=0.1, metadata=_within(0.0, 1.0, open_lo=True))
    collision_torque_fraction: float = field(default=0.2, metadata=_within(0.0, 1.0, open_lo=True))
    stale_reference_s: float = field(default=1.0, metadata=_within(0.0, 10.0, open_lo=True))
    read_timeout_s: float = field(default=0.0, metadata=_within(0.0, 1.0))

    @property
    def speed(self) -> float:
        """The velocity scale in force."""
        if self.velocity_scale:
            return self.velocity_scale
        return REAL_ROBOT_VELOCITY_SCALE if self.profile == "real_robot" else 1.0


@dataclass(frozen=True)
class RecordingSection:
    enabled: bool = True
    runs_dir: str = "runs"
    episodes: int = field(default=1, metadata=_within(0, 100_000))


@dataclass(frozen=True)
class ConnectionSection:
    """address: the robot's IP address or host name; a real-robot launch also needs it on the
    command line (``--address``), and the two must agree when both are given.
    command_mode: how the arm is commanded; empty for the backend's default. UR
    (`robostack.hardware.ur.config`): servoj, speedj or torque; Franka
    (`robostack.hardware.franka.config`): torque or velocity (the joint velocity generator).
    payload_kg: the payload beyond the flange (Franka: beyond the hand). The Franka backend
    sets it; on a UR it must match the controller's setting (preflight checks both).
    realtime, gripper (Franka only): libfranka's real-time check (``enforce``: refuse without a
    real-time kernel; ``ignore``) and whether the Franka Hand is driven.
    watchdog_hz (UR only): the rate below which the controller stops the script and the arm
    (RTDE watchdog); 0 = the default (`robostack.hardware.ur.config.URConfig`: 50 Hz, 20 ms)."""

    address: str = ""
    command_mode: str = field(
        default="", metadata=_one_of(("", "servoj", "speedj", "torque", "velocity"))
    )
    payload_kg: float = field(default=0.0, metadata=_within(0.0, 20.0))
    watchdog_hz: float = field(default=0.0, metadata=_within(0.0, 1000.0))
    realtime: str = field(default="enforce", metadata=_one_of(("enforce", "ignore")))
    gripper: bool = True

    def backend_options(self, backend: str) -> dict:
        """The backend config fields this section sets (`robostack.runtime.backends.make_robot`)."""
        if backend == "franka_fci":
            options = {
                "load_mass": self.payload_kg,
                "realtime": self.realtime,
                "gripper": self.gripper,
            }
            return options | ({"command_mode": self.command_mode} if self.command_mode else {})
        options = {"command_mode": self.command_mode, "watchdog_hz": self.watchdog_hz}
        return {key: value for key, value in options.items() if value}


@dataclass(frozen=True, kw_only=True)
class IpcSection(IpcConfig):
    """split: run the policy in its own process (``robostack policy-server``) and the loop in
    another (``robostack control``), over LCM, in real time. shared: the two talk on the
    shared channels ``<prefix>_*``, where other sessions and hand-started processes can hear
    them; by default a split launch draws a session tag and its channels are its own
    (`robostack.transport.config.new_session_tag`). The other keys are
    `robostack.transport.IpcConfig`'s."""

    split: bool = False
    shared: bool = False

    def for_session(self) -> IpcSection:
        """These settings as one split session uses them: with a tag of its own unless
        ``shared`` or the file names one."""
        if self.shared or self.session_tag:
            return self
        return dataclasses.replace(self, session_tag=new_session_tag())


@dataclass(frozen=True)
class LaunchFile:
    """A validated launch file. ``path`` is where it was read from (for messages)."""

    path: Path
    session: SessionSection = field(default_factory=SessionSection)
    robot: RobotSection = field(default_factory=RobotSection)
    policy: PolicySection = field(default_factory=PolicySection)
    controller: ControllerSection = field(default_factory=ControllerSection)
    safety: SafetySection = field(default_factory=SafetySection)
    recording: RecordingSection = field(default_factory=RecordingSection)
    connection: ConnectionSection | None = None
    ipc: IpcSection = field(default_factory=IpcSection)
    cameras: dict[str, CameraConfig] = field(default_factory=dict)

    def resolve(self, relative: str) -> Path:
        """A path from the file, relative to the file's folder."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self.path.parent / path

    def tables(self) -> dict[str, dict]:
        """The validated content as TOML-like tables (every key, defaults filled in);
        `launch_from_tables` reads them back."""
        sections = {name: getattr(self, name) for name in SECTIONS}
        tables = {name: dataclasses.asdict(s) for name, s in sections.items() if s is not None}
        if self.cameras:  # an empty list is no value in TOML: the pose not given is left out
            tables["cameras"] = {
                name: {k: v for k, v in dataclasses.asdict(c).items() if v != []}
                for name, c in self.cameras.items()
            }
        return tables

    def camera_configs(self) -> dict[str, CameraConfig]:
        """The ``[cameras]`` with each OpenCV device path or video file resolved from the
        file's folder (an absolute one stays)."""
        return {
            name: dataclasses.replace(c, device=str(self.resolve(c.device)))
            if c.backend == "opencv" and isinstance(c.device, str) and not c.device.isdigit()
            else c
            for name, c in self.cameras.items()
        }


SECTIONS = {
    "session": SessionSection,
    "robot": RobotSection,
    "policy": PolicySection,
    "controller": ControllerSection,
    "safety": SafetySection,
    "recording": RecordingSection,
    "connection": ConnectionSection,
    "ipc": IpcSection,
}


def load_launch_file(path: Path | str) -> LaunchFile:
    """Read and validate a launch file; `LaunchFileError` names what is wrong."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise LaunchFileError(path, "(file)", "no such launch file") from None
    except IsADirectoryError:
        raise LaunchFileError(path, "(file)", "a folder, not a launch file") from None
    except UnicodeDecodeError:
        raise LaunchFileError(path, "(file)", "not a text file (not UTF-8)") from None
    except OSError as error:
        raise LaunchFileError(path, "(file)", f"cannot be read ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise LaunchFileError(path, "(syntax)", f"not valid TOML: {error}") from None
    return launch_from_tables(path, raw)


def launch_from_tables(path: Path, tables: dict) -> LaunchFile:
    """Validate a launch file's ``tables`` (parsed TOML, or `LaunchFile.tables`); ``path`` is
    the file they came from. `LaunchFileError` names what is wrong."""
    if not isinstance(tables, dict):
        raise LaunchFileError(path, "(tables)", f"must be a table of tables, got {tables!r}")
    sections = {}
    for name, table in tables.items():
        if name not in SECTIONS and name != "cameras":
            known = ", ".join([*SECTIONS, "cameras"])
            raise LaunchFileError(path, f"[{name}]", f"unknown table; known: {known}")
        if not isinstance(table, dict):
            raise LaunchFileError(path, name, "must be a table ([...])")
        if name == "cameras":
            sections[name] = _cameras(path, table)
        else:
            sections[name] = _section(path, name, SECTIONS[name], table)
    launch = LaunchFile(path=path, **sections)
    _check_consistency(launch)
    return launch


def _cameras(path: Path, tables: dict) -> dict[str, CameraConfig]:
    """``[cameras.<name>]`` tables, each a `CameraConfig`."""
    cameras = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise LaunchFileError(path, f"[cameras] {name}", "must be a table ([cameras.<name>])")
        cameras[name] = _section(path, f"cameras.{name}", CameraConfig, table)
    return cameras


def _section(path: Path, name: str, cls: type, table: dict):
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in table.items():
        where = f"[{name}] {key}"
        if key not in fields:
            raise LaunchFileError(path, where, f"unknown key; known: {', '.join(fields)}")
        reason = _type_error(value, hints[key])
        if reason is None and "check" in fields[key].metadata:
            reason = fields[key].metadata["check"](value)
        if reason is not None:
            raise LaunchFileError(path, where, reason)
        values[key] = float(value) if hints[key] is float else value
    try:
        return cls(**values)
    except RobostackError as error:  # a check of the section's own (IpcConfig)
        raise LaunchFileError(path, f"[{name}]", str(error)) from None


def _type_error(value, hint) -> str | None:
    """None if ``value`` (parsed TOML) has the type ``hint``, else the reason."""
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    if hint in names:
        ok = isinstance(value, hint) and not (hint is not bool and isinstance(value, bool))
        if hint is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else f"must be {names[hint]}, got {type(value).__name__} {value!r}"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is types.UnionType:
        reasons = [_type_error(value, arm) for arm in args]
        if None in reasons:
            return None
        return f"must be {' or '.join(names[arm] for arm in args)}, got {value!r}"
    if origin is dict:
        if not isinstance(value, dict):
            return f"must be a table, got {type(value).__name__}"
        for k, v in value.items():
            inner = _type_error(v, args[1])
            if inner is not None:
                return f"{k}: {inner}"
        return None
    if origin is list:
        if not isinstance(value, list) or not value:
            return f"must be a non-empty list, got {value!r}"
        for item in value:
            inner = _type_error(item, args[0])
            if inner is not None:
                return f"list item {inner}"
        return None
    raise TypeError(f"launch file schema: unsupported type {hint}")  # a bug here, not input


def _check_consistency(launch: LaunchFile) -> None:
    path, robot = launch.path, launch.robot
    if robot.real:
        made_for = REAL_BACKENDS[robot.backend]
        if robot.name not in made_for:
            raise LaunchFileError(
                path,
                "[robot] backend",
                f"{robot.backend} drives {', '.join(made_for)}, not {robot.name}",
            )
        if launch.safety.profile != "real_robot":
            raise LaunchFileError(
                path, "[safety] profile", f"a real robot ({robot.backend}) needs real_robot"
            )
        if launch.connection is None:
            raise LaunchFileError(path, "[connection]", f"{robot.backend} needs a connection table")
        mode, modes = launch.connection.command_mode, COMMAND_MODES[robot.backend]
        if mode and mode not in modes:
            reason = f"{robot.backend} takes {', '.join(modes)}, not {mode}"
            raise LaunchFileError(path, "[connection] command_mode", reason)
    elif launch.connection is not None:
        raise LaunchFileError(path, "[connection]", "only for real robots (franka_fci, ur_rtde)")
    if launch.cameras and not robot.real:
        raise LaunchFileError(
            path, "[cameras]", "only for real robots (a simulated scene renders its own)"
        )

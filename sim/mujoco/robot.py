"""`MujocoRobot`: the `Robot` interface on a MuJoCo simulation at 1 kHz."""

from __future__ import annotations

import dataclasses
import functools
import time

import mujoco
import numpy as np

from robostack.core.errors import RobostackError
from robostack.core.model import contiguous_index
from robostack.core.robot import SimRobot
from robostack.core.robots import RobotDescription, get_robot
from robostack.core.types import CommandMode, JointCommand, JointState
from robostack.sim.cameras import pose_matrix
from robostack.sim.mujoco.camera import MujocoCameras, SnapshotRenderer, snapshot
from robostack.sim.mujoco.scene import SceneConfig, build_scene
from robostack.sim.scene import GripperTarget, rgba


class MujocoRobot(SimRobot):
    """A robot simulated by MuJoCo; one `write` advances the physics by one timestep.

    Torque commands are on top of gravity compensation, which the scene applies to every
    arm body (`robostack.sim.mujoco.scene`), so a zero command holds a still arm still.
    `JointState.tau` is the total joint torque (motor plus gravity compensation) and
    `JointState.tau_ext` the torque that contacts and joint stops exert on each joint.
    A task places and reads its objects through `robostack.sim.scene.TaskScene`'s methods;
    the scene's cameras render through `robostack.sim.cameras.CameraScene`'s.

    Args:
        robot: registry name or description.
        scene: scene options (timestep, table, a task's objects, cameras).
    """

    def __init__(self, *, robot: str | RobotDescription, scene: SceneConfig | None = None):
        self.description = get_robot(robot) if isinstance(robot, str) else robot
        self.scene_config = scene or SceneConfig()
        self.spec = dataclasses.replace(
            self.description.spec, control_rate_hz=1.0 / self.scene_config.timestep
        )
        self.model: mujoco.MjModel | None = None
        self.data: mujoco.MjData | None = None
        self._physics_ns = 0
        self.rng = np.random.default_rng()

    # --- Robot -------------------------------------------------------------------------

    def connect(self) -> None:
        if self.model is not None:
            return
        self.model = build_scene(self.description, self.scene_config).compile()
        self.data = mujoco.MjData(self.model)
        self._cameras = MujocoCameras(self.model, self.scene_config.cameras)
        m = self.model
        arm = [m.joint(n) for n in self.description.arm_joints]
        self._qpos = contiguous_index([j.qposadr[0] for j in arm])
        self._qvel = contiguous_index([j.dofadr[0] for j in arm])
        self._motors = contiguous_index(
            [m.actuator(f"{n}_motor").id for n in self.description.arm_joints]
        )
        fingers = self.description.gripper_joints
        self._finger_qpos = np.array([m.joint(n).qposadr[0] for n in fingers], dtype=int)
        self._finger_servos = np.array([m.actuator(f"{n}_servo").id for n in fingers], dtype=int)
        self.reset()

    def read(self) -> JointState:
        d = self._require()
        width = float(d.qpos[self._finger_qpos].sum()) if self.spec.has_gripper else None
        return JointState(
            t=d.time,
            q=d.qpos[self._qpos].copy(),
            dq=d.qvel[self._qvel].copy(),
            tau=d.qfrc_actuator[self._qvel] + d.qfrc_gravcomp[self._qvel],
            tau_ext=d.qfrc_constraint[self._qvel].copy(),
            gripper_width=width,
        )

    def write(self, command: JointCommand) -> None:
        d = self._require()
        if command.mode is not CommandMode.TORQUE:
            raise RobostackError(
                f"the MuJoCo backend takes torque commands only, got {command.mode.value}"
            )
        d.ctrl[self._motors] = command.values
        if self.spec.has_gripper:
            dt = self.model.opt.timestep
            d.ctrl[self._finger_servos] = self._gripper.step(command.gripper, dt)
        start = time.perf_counter_ns()
        mujoco.mj_step(self.model, d)
        self._physics_ns = time.perf_counter_ns() - start

    def close(self) -> None:
        if self.model is not None:
            self._cameras.close()
        self.model = self.data = None

    # --- SimRobot ----------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, q0: np.ndarray | None = None) -> JointState:
        d = self._require()
        q0 = self.description.q_home if q0 is None else np.asarray(q0, dtype=float)
        self.spec.check_positions(q0, what="initial configuration q0")
        self.rng = np.random.default_rng(seed)
        mujoco.mj_resetData(self.model, d)
        d.qpos[self._qpos] = q0
        if self.spec.has_gripper:
            open_width = self.spec.gripper_width_max
            self._gripper = GripperTarget(open_width)
            d.qpos[self._finger_qpos] = d.ctrl[self._finger_servos] = 0.5 * open_width
        mujoco.mj_forward(self.model, d)
        return self.read()

    @property
    def physics_ns(self) -> int:
        return self._physics_ns

    # --- helpers -----------------------------------------------------------------------

    def mirror(self, state: JointState) -> None:
        """Put the arm at a measured ``state`` (a real robot's twin) and update kinematics."""
        d = self._require()
        d.qpos[self._qpos] = state.q
        d.qvel[self._qvel] = state.dq
        mujoco.mj_kinematics(self.model, d)

    def tool_position(self) -> np.ndarray:
        """(3,) position of the tool link in the base frame, m, at the current state."""
        d = self._require()
        return d.xpos[self.model.body(self.description.tool_link).id].copy()

    # --- sim.scene.TaskScene -------------------------------------------------------------

    def place(self, name: str, position: np.ndarray) -> None:
        d, body = self._require(), self.model.body(name)
        if body.mocapid[0] >= 0:  # a marker
            d.mocap_pos[body.mocapid[0]] = position
        elif body.jntnum[0]:  # a cube's free joint: upright, at rest
            joint = self.model.joint(body.jntadr[0])
            adr, vadr = joint.qposadr[0], joint.dofadr[0]
            d.qpos[adr : adr + 7] = [*position, 1.0, 0.0, 0.0, 0.0]
            d.qvel[vadr : vadr + 6] = 0.0
        else:  # a fixture, welded to the world
            self.model.body_pos[body.id] = position
        mujoco.mj_forward(self.model, d)

    def position(self, name: str) -> np.ndarray:
        return self._require().xpos[self.model.body(name).id].copy()

    def recolour(self, name: str, colour: str) -> None:
        self._require()
        obj = next(o for o in self.scene_config.objects if o.name == name)
        body = self.model.body(name).id
        self.model.geom_rgba[self.model.geom_bodyid == body] = rgba(obj, colour)

    # --- sim.cameras.CameraScene ---------------------------------------------------------

    @property
    def cameras(self) -> tuple:
        return self.scene_config.cameras

    def render(self, camera: str) -> np.ndarray:
        return self._cameras.render(self._require(), camera)

    def object_mask(self, camera: str, name: str) -> np.ndarray:
        geoms = np.flatnonzero(self.model.geom_bodyid == self.model.body(name).id)
        return np.isin(self._cameras.geom_ids(self._require(), camera), geoms)

    def snapshot(self) -> np.ndarray:
        """The scene now, for a render process (`robostack.sim.frames.SnapshotScene`)."""
        return snapshot(self.model, self._require())

    def snapshot_renderer(self) -> functools.partial[SnapshotRenderer]:
        """A picklable recipe for a renderer of `snapshot` s
        (`robostack.sim.frames.RenderWorker` makes it in its process)."""
        self._require()
        return functools.partial(SnapshotRenderer, self.model, self.scene_config.cameras)

    def tool_pose(self) -> np.ndarray:
        d, body = self._require(), self.model.body(self.description.tool_link).id
        return pose_matrix(d.xmat[body].reshape(3, 3), d.xpos[body])

    def contacts(self) -> list[tuple[str, str]]:
        """Pairs of body names in contact at the current state."""
        d = self._require()
        m = self.model
        return [
            (m.body(m.geom_bodyid[c.geom1]).name, m.body(m.geom_bodyid[c.geom2]).name)
            for c in d.contact[: d.ncon]
        ]

    def _require(self) -> mujoco.MjData:
        if self.data is None:
            raise RobostackError("MujocoRobot is not connected: call connect() or use `with`")
        return self.data

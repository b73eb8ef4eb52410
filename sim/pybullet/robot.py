"""`PybulletRobot`: the `Robot` interface on a PyBullet simulation at 1 kHz."""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from robostack.core.errors import RobostackError
from robostack.core.robot import SimRobot
from robostack.core.robots import RobotDescription, get_robot
from robostack.core.types import CommandMode, JointCommand, JointState
from robostack.sim.cameras import Camera, camera_pose, pose_matrix
from robostack.sim.pybullet.camera import render
from robostack.sim.pybullet.scene import World, build_world, import_pybullet
from robostack.sim.scene import (
    GRIPPER_FORCE_MAX,
    GRIPPER_KP,
    GRIPPER_KV,
    TIMESTEP_S,
    Cube,
    GripperTarget,
    SceneObject,
    rgba,
)


class PybulletRobot(SimRobot):
    """A robot simulated by PyBullet; one `write` advances the physics by one timestep.

    Torque commands are on top of gravity compensation: each step adds g(q) from PyBullet's
    inverse dynamics of the same URDF, the counterpart of MuJoCo's ``gravcomp``, so a zero
    command holds a still arm still. The command is limited to the datasheet torque first,
    as MuJoCo's motors are. The fingers are the same PD servos as in `robostack.sim.mujoco.scene`
    (2000 N/m, 20 N s/m, 70 N), computed here. `JointState.tau` is the applied joint torque
    (command plus gravity) and `JointState.tau_ext` the torque the contacts exert on the arm's
    joints, J^T f summed over every contact on an arm link (what the collision check reads;
    joint-limit forces, which MuJoCo's constraint torque includes, are not in it).

    The joints' armature (reflected rotor inertia), which PyBullet has no notion of, is in the
    URDF it loads as a disc about each joint axis (`robostack.sim.pybullet.scene`): exact on the
    joint's own diagonal of M(q), a little more than MuJoCo's on the joints upstream. Limiting the
    command to the datasheet torque is a second guard: the safety monitor's torque CLAMP, with
    its event, comes first. A task places and reads its objects through
    `robostack.sim.scene.TaskScene`'s methods; the cameras render (TinyRenderer) through
    `robostack.sim.cameras.CameraScene`'s.

    Args:
        robot: registry name or description.
        objects: a task's objects (`robostack.sim.scene`).
        timestep: physics step, s (one control tick).
        cameras: the scene's cameras (`robostack.sim.cameras`).
    """

    def __init__(
        self,
        *,
        robot: str | RobotDescription,
        objects: tuple[SceneObject, ...] = (),
        timestep: float = TIMESTEP_S,
        cameras: tuple[Camera, ...] = (),
    ):
        self.description = get_robot(robot) if isinstance(robot, str) else robot
        self.objects = {obj.name: obj for obj in objects}
        self.cameras = tuple(cameras)
        self.timestep = timestep
        self.spec = dataclasses.replace(self.description.spec, control_rate_hz=1.0 / timestep)
        self.world: World | None = None
        self._physics_ns = 0
        self._tau = np.zeros(self.spec.dof)  # the last applied arm torque, Nm
        self.rng = np.random.default_rng()

    # --- Robot -------------------------------------------------------------------------

    def connect(self) -> None:
        if self.world is not None:
            return
        self._pb = import_pybullet()
        self.world = w = build_world(self.description, tuple(self.objects.values()), self.timestep)
        self._arm = [w.joints[n] for n in self.description.arm_joints]
        self._fingers = [w.joints[n] for n in self.description.gripper_joints]
        self._arm_dofs = [w.movable.index(j) for j in self._arm]
        self._finger_dofs = [w.movable.index(j) for j in self._fingers]
        self._tool = w.links[self.description.tool_link]
        self.reset()

    def read(self) -> JointState:
        self._require()
        q, dq = self._joint_states()
        width = float(q[self._finger_dofs].sum()) if self.spec.has_gripper else None
        return JointState(
            t=self._t,
            q=q[self._arm_dofs],
            dq=dq[self._arm_dofs],
            tau=self._tau.copy(),
            tau_ext=self._tau_ext.copy(),
            gripper_width=width,
        )

    def write(self, command: JointCommand) -> None:
        w = self._require()
        if command.mode is not CommandMode.TORQUE:
            raise RobostackError(
                f"the PyBullet backend takes torque commands only, got {command.mode.value}"
            )
        finger_target = self._gripper.step(command.gripper, self.timestep)
        q, dq = self._joint_states()
        tau = self._gravity(q)
        limit = self.spec.tau_max
        tau[self._arm_dofs] += np.clip(command.values, -limit, limit)
        fingers = self._finger_dofs
        servo = GRIPPER_KP * (finger_target - q[fingers]) - GRIPPER_KV * dq[fingers]
        tau[fingers] += np.clip(servo, -GRIPPER_FORCE_MAX, GRIPPER_FORCE_MAX)
        self._tau = tau[self._arm_dofs]
        pb = self._pb
        pb.setJointMotorControlArray(
            w.robot, w.movable, pb.TORQUE_CONTROL, forces=tau.tolist(), physicsClientId=w.client
        )
        start = time.perf_counter_ns()
        pb.stepSimulation(physicsClientId=w.client)
        self._physics_ns = time.perf_counter_ns() - start
        self._t += self.timestep
        self._tau_ext = self._contact_torque()

    def close(self) -> None:
        if self.world is not None:
            self._pb.disconnect(physicsClientId=self.world.client)
        self.world = None

    # --- SimRobot ----------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, q0: np.ndarray | None = None) -> JointState:
        w = self._require()
        q0 = self.description.q_home if q0 is None else np.asarray(q0, dtype=float)
        self.spec.check_positions(q0, what="initial configuration q0")
        self.rng = np.random.default_rng(seed)
        for joint, value in zip(self._arm, q0, strict=True):
            self._pb.resetJointState(w.robot, joint, float(value), 0.0, physicsClientId=w.client)
        self._gripper = GripperTarget(self.spec.gripper_width_max)
        for joint in self._fingers:
            self._pb.resetJointState(
                w.robot, joint, 0.5 * self._gripper.width, 0.0, physicsClientId=w.client
            )
        self._t, self._tau = 0.0, np.zeros(self.spec.dof)
        self._tau_ext = self._contact_torque(detect=True)
        return self.read()

    @property
    def physics_ns(self) -> int:
        return self._physics_ns

    # --- sim.scene.TaskScene -------------------------------------------------------------

    def tool_position(self) -> np.ndarray:
        """(3,) position of the tool link in the base frame, m, at the current state."""
        w = self._require()
        link = self._pb.getLinkState(
            w.robot, self._tool, computeForwardKinematics=True, physicsClientId=w.client
        )
        return np.array(link[4])

    def place(self, name: str, position: np.ndarray) -> None:
        w, body = self._require(), self._body(name)
        pb = self._pb
        pb.resetBasePositionAndOrientation(
            body, list(map(float, position)), [0.0, 0.0, 0.0, 1.0], physicsClientId=w.client
        )
        if isinstance(self.objects[name], Cube):
            pb.resetBaseVelocity(body, [0.0] * 3, [0.0] * 3, physicsClientId=w.client)
        self._tau_ext = self._contact_torque(detect=True)

    def position(self, name: str) -> np.ndarray:
        w = self._require()
        where, _ = self._pb.getBasePositionAndOrientation(
            self._body(name), physicsClientId=w.client
        )
        return np.array(where)

    def recolour(self, name: str, colour: str) -> None:
        w = self._require()
        self._pb.changeVisualShape(
            self._body(name),
            -1,
            rgbaColor=rgba(self.objects[name], colour),
            physicsClientId=w.client,
        )

    # --- sim.cameras.CameraScene ---------------------------------------------------------

    def render(self, camera: str) -> np.ndarray:
        return self._render(camera, segmentation=False)[0]

    def object_mask(self, camera: str, name: str) -> np.ndarray:
        return self._render(camera, segmentation=True)[1] == self._body(name)

    def tool_pose(self) -> np.ndarray:
        w = self._require()
        link = self._pb.getLinkState(
            w.robot, self._tool, computeForwardKinematics=True, physicsClientId=w.client
        )
        rotation = np.array(self._pb.getMatrixFromQuaternion(link[5])).reshape(3, 3)
        return pose_matrix(rotation, np.array(link[4]))

    def gravity(self, q: np.ndarray) -> np.ndarray:
        """g(q), (dof,) Nm: PyBullet's gravity torques of the arm at ``q`` (dof,) rad, the
        fingers where they are (what `write` adds to every command)."""
        self._require()
        full, _ = self._joint_states()
        full[self._arm_dofs] = q
        return self._gravity(full)[self._arm_dofs]

    # --- helpers -----------------------------------------------------------------------

    def _gravity(self, q: np.ndarray) -> np.ndarray:
        """Gravity torques of every movable joint at ``q`` (all of them), Nm."""
        w, zeros = self.world, [0.0] * len(q)
        return np.array(
            self._pb.calculateInverseDynamics(
                w.robot, q.tolist(), zeros, zeros, physicsClientId=w.client
            )
        )

    def _joint_states(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions and velocities of every movable joint (arm and fingers)."""
        w = self.world
        states = self._pb.getJointStates(w.robot, w.movable, physicsClientId=w.client)
        return np.array([s[0] for s in states]), np.array([s[1] for s in states])

    def _contact_torque(self, *, detect: bool = False) -> np.ndarray:
        """(dof,) the arm's joint torques of the contact forces on its links, Nm, from the last
        step's contacts (``detect``: the contacts of the state as it is now, after a reset or
        a placement)."""
        w, pb = self.world, self._pb
        if detect:
            pb.performCollisionDetection(physicsClientId=w.client)
        contacts = pb.getContactPoints(bodyA=w.robot, physicsClientId=w.client)
        if not contacts:
            return np.zeros(self.spec.dof)
        q, _ = self._joint_states()
        tau = np.zeros(len(q))
        zeros = [0.0] * len(q)
        for c in contacts:
            link, on_arm, normal = c[3], np.array(c[5]), np.array(c[7])
            force = c[9] * normal + c[10] * np.array(c[11]) + c[12] * np.array(c[13])
            if link < 0:
                continue  # the fixed base: it moves no joint
            state = pb.getLinkState(w.robot, link, physicsClientId=w.client)
            com, orientation = np.array(state[0]), state[1]
            rotation = np.array(pb.getMatrixFromQuaternion(orientation)).reshape(3, 3)
            local = rotation.T @ (on_arm - com)
            linear, _ = pb.calculateJacobian(
                w.robot, link, local.tolist(), q.tolist(), zeros, zeros, physicsClientId=w.client
            )
            tau += np.array(linear).T @ force
        return tau[self._arm_dofs]

    def _render(self, name: str, *, segmentation: bool):
        w = self._require()
        camera = next((c for c in self.cameras if c.name == name), None)
        if camera is None:
            known = ", ".join(c.name for c in self.cameras) or "none"
            raise RobostackError(f"no camera {name!r}; the scene's cameras: {known}")
        pose = camera_pose(self, camera)
        return render(self._pb, w.client, camera, pose, segmentation=segmentation)

    def _body(self, name: str) -> int:
        try:
            return self.world.objects[name]
        except KeyError:
            known = ", ".join(self.world.objects) or "none"
            raise RobostackError(f"no scene object {name!r}; the scene has {known}") from None

    def _require(self) -> World:
        if self.world is None:
            raise RobostackError("PybulletRobot is not connected: call connect() or use `with`")
        return self.world

"""Rigid-body model of an arm from its URDF: kinematics, dynamics and inverse kinematics.

MuJoCo's compiler and its recursive Newton-Euler / composite-rigid-body routines serve as the
rigid-body library here (the role Pinocchio or KDL play elsewhere). The model has its own
`MjData` and never touches a simulation: it is what a controller *believes* about the arm.
Joints that are not arm joints (gripper fingers) are held at zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from robostack.core.robots import RobotDescription


@dataclass(frozen=True)
class IKResult:
    """Outcome of `RigidBodyModel.inverse_kinematics`.

    Attributes:
        q: (dof,) joint positions, rad, within the joint limits.
        position_error: remaining tool position error, m.
        rotation_error: remaining tool rotation error, rad.
        converged: both errors are below the requested tolerances.
    """

    q: np.ndarray
    position_error: float
    rotation_error: float
    converged: bool


def load_urdf(description: RobotDescription) -> mujoco.MjSpec:
    """Parse the robot's URDF into an editable `MjSpec` (no scene, no actuators).

    Adds the description's reflected rotor inertia (armature) to the arm joints, and drops the
    joint equalities MuJoCo makes of the URDF's ``<mimic>`` tags: the URDF declares the second
    finger a mimic of the first for tools that drive a gripper as one joint, while the
    simulation gives each finger its own servo to the same target (`robostack.sim.mujoco`).
    """
    spec = mujoco.MjSpec.from_file(str(description.urdf))
    for equality in list(spec.equalities):
        spec.delete(equality)
    for name, armature in zip(description.arm_joints, description.armature, strict=True):
        spec.joint(name).armature = armature
    return spec


class RigidBodyModel:
    """Kinematics and dynamics of the arm described by ``description``.

    Every method takes ``q`` (dof,) rad and, where relevant, ``dq`` (dof,) rad/s, in the
    order of ``description.arm_joints``. Not thread-safe: it reuses one `MjData`.
    """

    def __init__(self, description: RobotDescription):
        spec = load_urdf(description)
        self.model = spec.compile()
        self.model.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_CONTACT
        # The same model without gravity: its RNE gives C(q, dq) dq alone.
        self._model_no_gravity = spec.compile()
        self._model_no_gravity.opt.gravity[:] = 0.0
        self.data = mujoco.MjData(self.model)
        self.description = description
        self.dof = len(description.arm_joints)
        joints = [self.model.joint(name) for name in description.arm_joints]
        self._qadr = contiguous_index([j.qposadr[0] for j in joints])
        self._vadr = contiguous_index([j.dofadr[0] for j in joints])
        self._tool = self.model.body(description.tool_link).id
        self._q_min = description.spec.q_min
        self._q_max = description.spec.q_max
        self._M = np.zeros((self.model.nv, self.model.nv))
        self._rne = np.zeros(self.model.nv)
        self._jacp = np.zeros((3, self.model.nv))
        self._jacr = np.zeros((3, self.model.nv))

    # --- kinematics -------------------------------------------------------------------

    def _set(self, q: np.ndarray, dq: np.ndarray | None = None) -> None:
        d = self.data
        d.qpos[self._qadr] = q
        d.qvel[self._vadr] = 0.0 if dq is None else dq
        mujoco.mj_kinematics(self.model, d)
        mujoco.mj_comPos(self.model, d)

    def tool_pose(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tool position (3,) m and rotation matrix (3, 3) in the base frame."""
        self._set(q)
        return self.data.xpos[self._tool].copy(), self.data.xmat[self._tool].reshape(3, 3).copy()

    def link_positions(self, q: np.ndarray) -> dict[str, np.ndarray]:
        """Origin (3,) m of every link in the base frame, keyed by link name."""
        self._set(q)
        m = self.model
        return {m.body(i).name: self.data.xpos[i].copy() for i in range(1, m.nbody)}

    def tool_jacobian(self, q: np.ndarray) -> np.ndarray:
        """Geometric Jacobian (6, dof) of the tool: rows 0-2 linear m/rad, rows 3-5 angular."""
        self._set(q)
        mujoco.mj_jacBody(self.model, self.data, self._jacp, self._jacr, self._tool)
        return np.vstack([self._jacp[:, self._vadr], self._jacr[:, self._vadr]])

    # --- dynamics (the `robostack.core.robot.DynamicsModel` protocol) -----------------------

    def mass_matrix(self, q: np.ndarray) -> np.ndarray:
        """Joint-space inertia M(q), (dof, dof), kg m^2."""
        self._set(q)
        mujoco.mj_crb(self.model, self.data)
        mujoco.mj_fullM(self.model, self.data, self._M)
        return self._M[self._vadr][:, self._vadr]

    def coriolis(self, q: np.ndarray, dq: np.ndarray) -> np.ndarray:
        """Coriolis and centrifugal torques C(q, dq) dq, (dof,), Nm."""
        self._set(q, dq)
        mujoco.mj_comVel(self.model, self.data)
        mujoco.mj_rne(self._model_no_gravity, self.data, 0, self._rne)
        return self._rne[self._vadr].copy()

    def gravity(self, q: np.ndarray) -> np.ndarray:
        """Gravity torques g(q), (dof,), Nm: the torque that holds the arm still at ``q``."""
        self._set(q)
        mujoco.mj_comVel(self.model, self.data)
        mujoco.mj_rne(self.model, self.data, 0, self._rne)
        return self._rne[self._vadr].copy()

    def inverse_dynamics(self, q: np.ndarray, dq: np.ndarray, ddq: np.ndarray) -> np.ndarray:
        """Joint torques M ddq + C dq + g, (dof,), Nm."""
        return self.mass_matrix(q) @ ddq + self.coriolis(q, dq) + self.gravity(q)

    # --- inverse kinematics -----------------------------------------------------------

    def inverse_kinematics(
        self,
        position: np.ndarray,
        rotation: np.ndarray,
        q_init: np.ndarray,
        *,
        q_rest: np.ndarray | None = None,
        position_tol: float = 1e-5,
        rotation_tol: float = 1e-4,
        max_iterations: int = 200,
        damping: float = 1e-3,
        max_step: float | None = None,
    ) -> IKResult:
        """Solve for joints placing the tool at ``position`` (3,) m with ``rotation`` (3, 3).

        Damped least squares from ``q_init`` (dof,); on redundant arms the null space pulls
        towards ``q_rest`` (default: home), so consecutive targets give continuous solutions.
        ``max_step`` (rad) caps each iteration's largest joint step, so the solution stays on
        the branch of ``q_init`` instead of leaping across the workspace (None: no cap).
        """
        q = np.clip(np.array(q_init, dtype=float), self._q_min, self._q_max)
        q_rest = self.description.q_home if q_rest is None else q_rest
        eye = np.eye(self.dof)
        for _ in range(max_iterations):
            pos, rot = self.tool_pose(q)
            err = np.concatenate([position - pos, _rotation_error(rotation, rot)])
            pos_err, rot_err = np.linalg.norm(err[:3]), np.linalg.norm(err[3:])
            if pos_err < position_tol and rot_err < rotation_tol:
                return IKResult(q, float(pos_err), float(rot_err), True)
            J = self.tool_jacobian(q)
            JJt = J @ J.T + damping**2 * np.eye(6)
            J_pinv = J.T @ np.linalg.solve(JJt, np.eye(6))
            step = J_pinv @ err + (eye - J_pinv @ J) @ (0.1 * (q_rest - q))
            if max_step is not None:
                step *= min(1.0, max_step / max(np.abs(step).max(), 1e-12))
            q = np.clip(q + step, self._q_min, self._q_max)
        pos, rot = self.tool_pose(q)
        pos_err = float(np.linalg.norm(position - pos))
        rot_err = float(np.linalg.norm(_rotation_error(rotation, rot)))
        return IKResult(q, pos_err, rot_err, pos_err < position_tol and rot_err < rotation_tol)


def contiguous_index(indices) -> slice | np.ndarray:
    """A slice when ``indices`` are consecutive (views, cheaper per tick), else an int array."""
    indices = np.asarray(indices, dtype=int)
    first = int(indices[0])
    if np.array_equal(indices, np.arange(first, first + len(indices))):
        return slice(first, first + len(indices))
    return indices


def _rotation_error(target: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Axis-angle vector (3,) rad rotating ``current`` onto ``target`` (both (3, 3))."""
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, (target @ current.T).ravel())
    vel = np.zeros(3)
    mujoco.mju_quat2Vel(vel, quat, 1.0)
    return vel

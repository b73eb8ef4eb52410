"""The stand-in's gymapi (see the package doc)."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import numpy as np
import torch

SIM_PHYSX, UP_AXIS_Z = 1, 1
DOF_MODE_NONE, DOF_MODE_POS, DOF_MODE_VEL, DOF_MODE_EFFORT = 0, 1, 2, 3
LINK_INERTIA = 0.05  # kg m^2 per DOF, the stand-in's whole dynamics


def _log(name: str, **details) -> None:
    path = os.environ.get("FAKE_ISAACGYM_LOG")
    if path:
        with open(path, "a") as log:
            log.write(json.dumps({"call": name, **details}) + "\n")


class Vec3:
    def __init__(self, x: float = 0.0, y: float = 0.0, z: float = 0.0):
        self.x, self.y, self.z = x, y, z


class Quat:
    def __init__(self, x: float = 0.0, y: float = 0.0, z: float = 0.0, w: float = 1.0):
        self.x, self.y, self.z, self.w = x, y, z, w


class Transform:
    def __init__(self, p: Vec3 | None = None, r: Quat | None = None):
        self.p, self.r = p or Vec3(), r or Quat()


class PhysXParams:
    def __init__(self):
        self.num_position_iterations, self.num_velocity_iterations, self.use_gpu = 4, 1, False


class SimParams:
    def __init__(self):
        self.dt, self.substeps, self.up_axis = 1.0 / 60.0, 2, 0
        self.gravity, self.use_gpu_pipeline, self.physx = Vec3(0, -9.8, 0), False, PhysXParams()


class PlaneParams:
    def __init__(self):
        self.normal, self.distance = Vec3(0, 1, 0), 0.0


class AssetOptions:
    def __init__(self):
        self.fix_base_link, self.disable_gravity = False, False
        self.default_dof_drive_mode, self.armature = DOF_MODE_POS, 0.0


class Tensor:
    """gymapi.Tensor: a handle on a torch tensor (gymtorch wraps and unwraps it)."""

    def __init__(self, data: torch.Tensor):
        self.data = data


_DOF_FIELDS = [
    ("hasLimits", "?"), ("lower", "f4"), ("upper", "f4"), ("driveMode", "i4"),
    ("velocity", "f4"), ("effort", "f4"), ("stiffness", "f4"), ("damping", "f4"),
    ("friction", "f4"), ("armature", "f4"),
]  # fmt: skip


class Asset:
    def __init__(self, path: str, options: AssetOptions):
        root = ET.parse(path).getroot()
        joints = [j for j in root.iter("joint") if j.get("type") in ("revolute", "prismatic")]
        self.dof_names = [j.get("name") for j in joints]
        self.props = np.zeros(len(joints), dtype=_DOF_FIELDS)
        for k, joint in enumerate(joints):
            limit = joint.find("limit")
            self.props[k]["hasLimits"] = True
            self.props[k]["lower"] = float(limit.get("lower", "0"))
            self.props[k]["upper"] = float(limit.get("upper", "0"))
            self.props[k]["driveMode"] = options.default_dof_drive_mode
            self.props[k]["effort"] = float(limit.get("effort", "0"))


class Gym:
    def __init__(self):
        self.assets, self.actors, self.envs = [], [], 0
        self.state = self.effort = self.target = None
        self.dt = 0.0

    def create_sim(self, compute_device=0, graphics_device=0, type=SIM_PHYSX, params=None):
        _log("create_sim", dt=params.dt, up_axis=params.up_axis, gravity=params.gravity.z)
        self.dt = params.dt
        return "sim"

    def add_ground(self, sim, params) -> None:
        _log("add_ground")

    def load_asset(self, sim, rootpath: str, filename: str, options=None) -> Asset:
        _log(
            "load_asset",
            file=filename,
            fix_base_link=options.fix_base_link,
            disable_gravity=options.disable_gravity,
        )
        asset = Asset(os.path.join(rootpath, filename), options)
        self.assets.append(asset)
        return asset

    def get_asset_dof_names(self, asset: Asset) -> list[str]:
        return list(asset.dof_names)

    def get_asset_dof_count(self, asset: Asset) -> int:
        return len(asset.dof_names)

    def get_asset_dof_properties(self, asset: Asset):
        return asset.props.copy()

    def create_env(self, sim, lower: Vec3, upper: Vec3, per_row: int):
        _log("create_env", index=self.envs)
        self.envs += 1
        return self.envs - 1

    def create_actor(self, env, asset, pose, name="", group=0, filter=0, segmentationId=0) -> int:
        _log("create_actor", env=env, group=group)
        self.actors.append({"asset": asset, "props": asset.props.copy()})
        return 0

    def set_actor_dof_properties(self, env, actor, props) -> bool:
        modes = [int(m) for m in props["driveMode"]]
        _log(
            "set_actor_dof_properties",
            env=env,
            modes=modes,
            armature=[float(a) for a in props["armature"]],
        )
        self.actors[env]["props"] = props.copy()
        return True

    def prepare_sim(self, sim) -> bool:
        _log("prepare_sim")
        n = sum(len(a["asset"].dof_names) for a in self.actors)
        self.state = torch.zeros((n, 2), dtype=torch.float32)
        self.effort = torch.zeros(n, dtype=torch.float32)
        self.target = torch.zeros(n, dtype=torch.float32)
        props = np.concatenate([a["props"] for a in self.actors])
        self.props = props
        return True

    def acquire_dof_state_tensor(self, sim) -> Tensor:
        _log("acquire_dof_state_tensor", shape=list(self.state.shape))
        return Tensor(self.state)

    def refresh_dof_state_tensor(self, sim) -> bool:
        _log("refresh_dof_state_tensor")
        return True

    def set_dof_state_tensor(self, sim, tensor: Tensor) -> bool:
        _log("set_dof_state_tensor", shape=list(tensor.data.shape))
        self.state[:] = tensor.data
        return True

    def set_dof_state_tensor_indexed(
        self, sim, tensor: Tensor, indices: Tensor, count: int
    ) -> bool:
        """Set the DOF states of the actors ``indices`` (int32, one actor per environment)."""
        actors = indices.data[:count].tolist()
        _log("set_dof_state_tensor_indexed", shape=list(tensor.data.shape), actors=actors)
        for actor in actors:
            rows = slice(*self._rows(actor))
            self.state[rows] = tensor.data[rows]
        return True

    def _rows(self, actor: int) -> tuple[int, int]:
        sizes = [len(a["asset"].dof_names) for a in self.actors]
        start = sum(sizes[:actor])
        return start, start + sizes[actor]

    def set_dof_actuation_force_tensor(self, sim, tensor: Tensor) -> bool:
        _log(
            "set_dof_actuation_force_tensor",
            shape=list(tensor.data.shape),
            dtype=str(tensor.data.dtype),
        )
        self.effort[:] = tensor.data
        return True

    def set_dof_position_target_tensor(self, sim, tensor: Tensor) -> bool:
        _log("set_dof_position_target_tensor", shape=list(tensor.data.shape))
        self.target[:] = tensor.data
        return True

    def simulate(self, sim) -> None:
        _log("simulate")
        p = self.props
        q, dq = self.state[:, 0].double().numpy(), self.state[:, 1].double().numpy()
        force = self.effort.double().numpy().copy()
        servo = p["driveMode"] == DOF_MODE_POS
        pd = p["stiffness"] * (self.target.double().numpy() - q) - p["damping"] * dq
        force[servo] = np.clip(pd[servo], -p["effort"][servo], p["effort"][servo])
        dq = dq + self.dt * force / (LINK_INERTIA + p["armature"])
        q = np.clip(q + self.dt * dq, p["lower"], p["upper"])
        self._next = torch.tensor(np.stack([q, dq], axis=1), dtype=torch.float32)

    def fetch_results(self, sim, wait: bool) -> None:
        _log("fetch_results", wait=wait)
        self.state[:] = self._next


def acquire_gym(*args, **kwargs) -> Gym:
    _log("acquire_gym")
    return Gym()

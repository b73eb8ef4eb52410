"""Isaac Gym bridge: a robot of the stack simulated in Isaac Gym, driven over LCM.

Isaac Gym Preview runs only on Python 3.6 to 3.8 with NVIDIA's download, so the stack never
imports it: this script runs in Isaac Gym's own Python (3.6 compatible; it needs isaacgym,
its torch, numpy and lcm, and imports the message classes as ``lcmtypes``: the stack puts
``robostack/transport`` on its PYTHONPATH). It loads the robot's URDF as an Isaac Gym asset, creates
``--num-envs`` environments side by side, and steps them together in lockstep with the stack
(``robostack.sim.isaacgym.IsaacGymRobot``), one ``joint_command_t`` per environment and step:

- a torque command goes into the actuation tensor (``set_dof_actuation_force_tensor``), arm
  torques limited to ``--tau-max``; once every environment has sent one, the simulation takes
  one step (``simulate``, ``fetch_results``, ``refresh_dof_state_tensor``) and each
  environment's state goes back as a ``robot_status_t`` naming the command it answers;
- a reset puts an environment's arm at the given positions, at rest, its fingers open
  (``set_dof_state_tensor_indexed``), drops a torque command it had waiting, restarts its clock
  and is answered at once; it also takes the client's numbering (a new client starts over);
- a command repeated (the client did not get its answer: UDP may lose one) is answered again,
  not applied twice.

Isaac Gym has no inverse dynamics, so it cannot add g(q) to a command as the stack's convention
asks: the arm's links have gravity disabled (what NVIDIA's own torque-control examples do), so a
zero torque holds a still arm. The arm's joints are effort-driven with the stack's armature
(``--armature``); the fingers are position servos (2000 N/m, 20 N s/m, 70 N), as in the MuJoCo
and PyBullet scenes. SIGTERM or SIGINT ends it.

Not yet run against real Isaac Gym: only against a stand-in built from the published API
(tests/sim/isaacgym).
"""

import argparse
import math
import signal
import sys
import time
from pathlib import Path

import lcm
import numpy as np
from lcmtypes import joint_command_t, robot_status_t

TORQUE, RESET = 0, 1
FINGER_KP, FINGER_KV, FINGER_FORCE = 2000.0, 20.0, 70.0


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    floats = lambda text: [float(v) for v in text.split(",") if v]  # noqa: E731
    names = lambda text: [v for v in text.split(",") if v]  # noqa: E731
    p.add_argument("--urdf", required=True, type=Path)
    p.add_argument("--arm-joints", required=True, type=names)
    p.add_argument("--gripper-joints", default="", type=names)
    p.add_argument("--armature", required=True, type=floats, help="kg m^2 per arm joint")
    p.add_argument("--tau-max", required=True, type=floats, help="Nm per arm joint")
    p.add_argument("--home", required=True, type=floats, help="rad per arm joint")
    p.add_argument("--num-envs", type=int, default=1)
    p.add_argument("--dt", type=float, default=0.001, help="s per step")
    p.add_argument("--url", default="udpm://239.255.76.67:7667?ttl=0")
    p.add_argument("--prefix", default="ROBOSTACK")
    p.add_argument("--device", type=int, default=0, help="CUDA device for PhysX")
    args = p.parse_args(argv)
    n = len(args.arm_joints)
    for name in ("armature", "tau_max", "home"):
        if len(getattr(args, name)) != n:
            p.error(f"--{name.replace('_', '-')} needs {n} values, one per arm joint")
    if args.num_envs < 1 or not args.dt > 0:
        p.error("--num-envs must be >= 1 and --dt > 0")
    return args


class Bridge:
    """The simulation and its LCM side (module doc)."""

    def __init__(self, args: argparse.Namespace):
        from isaacgym import gymapi, gymtorch  # before torch: Isaac Gym refuses otherwise

        # isort: split
        import torch

        self.args, self.gymapi, self.gymtorch, self.torch = args, gymapi, gymtorch, torch
        self.gym = gymapi.acquire_gym()
        params = gymapi.SimParams()
        params.dt, params.substeps = args.dt, 1
        params.up_axis = gymapi.UP_AXIS_Z
        params.gravity = gymapi.Vec3(0.0, 0.0, -9.81)
        params.use_gpu_pipeline = False  # CPU tensors: the states go out over LCM every step
        self.sim = self.gym.create_sim(args.device, -1, gymapi.SIM_PHYSX, params)
        ground = gymapi.PlaneParams()
        ground.normal = gymapi.Vec3(0.0, 0.0, 1.0)
        ground.distance = 0.75  # the floor under the table, as in the other scenes
        self.gym.add_ground(self.sim, ground)
        options = gymapi.AssetOptions()
        options.fix_base_link = True
        options.disable_gravity = True  # no inverse dynamics to compensate it with (module doc)
        options.linear_damping = options.angular_damping = 0.0  # PhysX's default: 0.5, a drag
        options.default_dof_drive_mode = int(gymapi.DOF_MODE_EFFORT)
        asset = self.gym.load_asset(self.sim, str(args.urdf.parent), args.urdf.name, options)
        dof_names = list(self.gym.get_asset_dof_names(asset))
        missing = [j for j in args.arm_joints + args.gripper_joints if j not in dof_names]
        if missing:
            raise SystemExit(f"{args.urdf} has no movable joints {missing}; it has {dof_names}")
        self.dofs = len(dof_names)
        self.arm = [dof_names.index(j) for j in args.arm_joints]
        self.fingers = [dof_names.index(j) for j in args.gripper_joints]
        props = self.gym.get_asset_dof_properties(asset)
        for k, j in enumerate(self.arm):
            props["driveMode"][j] = gymapi.DOF_MODE_EFFORT
            props["stiffness"][j], props["damping"][j] = 0.0, 0.0
            props["armature"][j], props["effort"][j] = args.armature[k], args.tau_max[k]
        for j in self.fingers:
            props["driveMode"][j] = gymapi.DOF_MODE_POS
            props["stiffness"][j], props["damping"][j] = FINGER_KP, FINGER_KV
            props["effort"][j] = FINGER_FORCE
        self.finger_open = float(props["upper"][self.fingers[0]]) if self.fingers else 0.0  # each
        lower, upper = gymapi.Vec3(-1.5, -1.5, 0.0), gymapi.Vec3(1.5, 1.5, 1.5)
        for i in range(args.num_envs):
            env = self.gym.create_env(self.sim, lower, upper, int(math.sqrt(args.num_envs)) or 1)
            # group i: environments do not collide; filter 1: no self-collision, as elsewhere
            actor = self.gym.create_actor(env, asset, gymapi.Transform(), "robot", i, 1)
            self.gym.set_actor_dof_properties(env, actor, props)
        self.gym.prepare_sim(self.sim)
        state = self.gym.acquire_dof_state_tensor(self.sim)
        self.dof_state = gymtorch.wrap_tensor(state)  # (num_envs * dofs, 2): position, velocity
        n = args.num_envs
        self.efforts = torch.zeros(n * self.dofs, dtype=torch.float32)
        self.targets = torch.zeros(n * self.dofs, dtype=torch.float32)
        self.tau_max = np.array(args.tau_max)
        self.pending = [None] * n  # each environment's torque command for the next step
        self.answered = [0] * n  # the last command answered, per environment
        self.applied = np.zeros((n, len(self.arm)))
        self.t, self.steps = [0.0] * n, 0  # each environment's clock, s
        self.lcm = lcm.LCM(args.url)
        self.status_channel = f"{args.prefix}_SIM_STATUS"
        self.lcm.subscribe(f"{args.prefix}_SIM_COMMAND", self._on_command)
        for i in range(n):
            self._reset(i, args.home, seq=0)
        self._publish(range(n))

    def run(self, stopping) -> None:
        while not stopping:
            try:
                self.lcm.handle_timeout(50)
            except OSError:  # a signal interrupted the wait
                continue
            if all(command is not None for command in self.pending):
                self._step()

    # --- commands -----------------------------------------------------------------------

    def _on_command(self, channel: str, data: bytes) -> None:
        try:
            msg = joint_command_t.decode(data)
        except Exception:  # a malformed message is ignored: the bridge serves on
            return
        env = msg.env
        if not 0 <= env < self.args.num_envs or msg.num_joints != len(self.arm):
            return
        if not all(math.isfinite(v) for v in msg.values):
            return
        if msg.seq == self.answered[env]:  # its answer was lost: answer again
            self._publish([env])
        elif msg.kind == RESET:  # a new episode or a new client: its numbering from here
            self._reset(env, msg.values, seq=msg.seq)
            self._publish([env])
        elif msg.kind == TORQUE and msg.seq > self.answered[env]:
            self.pending[env] = msg

    def _reset(self, env: int, q, seq: int) -> None:
        base = env * self.dofs
        state = self.dof_state.clone()
        state[base : base + self.dofs, 1] = 0.0
        for k, j in enumerate(self.arm):
            state[base + j, 0] = float(q[k])
        for j in self.fingers:  # open
            state[base + j, 0] = self.finger_open
            self.targets[base + j] = self.finger_open
        actors = self.torch.tensor([env], dtype=self.torch.int32)  # one actor per environment
        self.gym.set_dof_state_tensor_indexed(
            self.sim,
            self.gymtorch.unwrap_tensor(state),
            self.gymtorch.unwrap_tensor(actors),
            1,
        )
        self.gym.refresh_dof_state_tensor(self.sim)
        self.applied[env], self.t[env] = 0.0, 0.0
        self.pending[env] = None
        self.answered[env] = seq

    def _step(self) -> None:
        self.efforts.zero_()
        for env, msg in enumerate(self.pending):
            tau = np.clip(np.array(msg.values), -self.tau_max, self.tau_max)
            base = env * self.dofs
            for k, j in enumerate(self.arm):
                self.efforts[base + j] = float(tau[k])
            self.applied[env] = tau
            if not math.isnan(msg.gripper_width):
                for j in self.fingers:
                    self.targets[base + j] = 0.5 * msg.gripper_width
        self.gym.set_dof_actuation_force_tensor(self.sim, self.gymtorch.unwrap_tensor(self.efforts))
        self.gym.set_dof_position_target_tensor(self.sim, self.gymtorch.unwrap_tensor(self.targets))
        self.gym.simulate(self.sim)
        self.gym.fetch_results(self.sim, True)
        self.gym.refresh_dof_state_tensor(self.sim)
        self.steps += 1
        for env, msg in enumerate(self.pending):
            self.answered[env] = msg.seq
            self.t[env] += self.args.dt
        self.pending = [None] * self.args.num_envs
        self._publish(range(self.args.num_envs))

    # --- status -------------------------------------------------------------------------

    def _publish(self, envs) -> None:
        state = self.dof_state.numpy()
        for env in envs:
            rows = state[env * self.dofs : (env + 1) * self.dofs]
            msg = robot_status_t()
            msg.utime, msg.env, msg.tick = round(self.t[env] * 1e6), env, self.answered[env]
            msg.num_joints = len(self.arm)
            msg.joint_position = [float(rows[j, 0]) for j in self.arm]
            msg.joint_velocity = [float(rows[j, 1]) for j in self.arm]
            msg.joint_position_reference = [math.nan] * len(self.arm)
            msg.joint_torque_commanded = [float(v) for v in self.applied[env]]
            msg.joint_torque_measured = list(msg.joint_torque_commanded)
            msg.joint_torque_external = [math.nan] * len(self.arm)
            msg.gripper_width = (
                float(sum(rows[j, 0] for j in self.fingers)) if self.fingers else math.nan
            )
            msg.command_mode, msg.safety_state = "torque", ""
            self.lcm.publish(self.status_channel, msg.encode())


def main(argv=None) -> int:
    args = parse(argv)
    stopping = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, frame: stopping.append(number))
    bridge = Bridge(args)
    began = time.monotonic()
    bridge.run(stopping)
    wall = time.monotonic() - began
    print(f"isaacgym bridge: {bridge.steps} steps of {args.num_envs} environments in {wall:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A grasp rehearsal's scene: a cube on the table between the Hand's open fingers, the arm
posed over it, as a pick-and-place episode stands at its grasp.

The cube and the fingers touch as rigid bodies (MuJoCo's stiffest contact at the 1 ms step, a
time constant of `RIGID_TIMECONST_S`), so that the fingers stop at the cube's width as on a
real object; the task scenes keep MuJoCo's default soft contact, in which a 5 cm cube squeezed
with 40 N lets the fingers in 13 mm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robostack.core.model import RigidBodyModel
from robostack.core.robots import get_robot
from robostack.sim.mujoco import MujocoRobot, SceneConfig
from robostack.sim.scene import TABLE_TOP_Z, Cube
from robostack.sim.tasks.base import solve, tool_down_rotation

CUBE = "cube"
CUBE_XY = (0.5, 0.0)  # m, in front of the arm
ABOVE_CENTRE = 0.005  # m: the tool point above the cube's centre (pick_place's grasp height)
RIGID_TIMECONST_S = 0.002  # contact time constant: twice the physics step, MuJoCo's least


@dataclass(frozen=True)
class GraspScene:
    """A cube of ``edge`` m between the fingertips of the Panda at ``q0``.

    Attributes:
        scene: the MuJoCo scene holding the cube.  q0: (7,) the arm's configuration, rad.
        centre: (3,) where the cube stands, m.
    """

    scene: SceneConfig
    q0: np.ndarray
    centre: np.ndarray

    @classmethod
    def cube(cls, edge: float) -> GraspScene:
        description = get_robot("panda")
        model = RigidBodyModel(description)
        centre = np.array([*CUBE_XY, TABLE_TOP_Z + edge / 2])
        rotation = tool_down_rotation(model)
        tool = centre + np.array([0.0, 0.0, ABOVE_CENTRE])
        q0 = solve(model, tool, rotation, description.q_home, "the grasp pose over the cube")
        return cls(SceneConfig(objects=(Cube(CUBE, "red", half=edge / 2),)), q0, centre)

    def arrange(self, sim: MujocoRobot) -> None:
        """Stand the cube between the fingers of ``sim`` (connected, at ``q0``) and make the
        cube's and the fingers' contacts rigid (module doc)."""
        model = sim.model
        fingers = {model.joint(name).bodyid[0] for name in sim.description.gripper_joints}
        for geom in range(model.ngeom):
            if model.geom_bodyid[geom] in fingers or model.geom(geom).name == CUBE:
                model.geom_solref[geom] = [RIGID_TIMECONST_S, 1.0]
        sim.place(CUBE, self.centre)

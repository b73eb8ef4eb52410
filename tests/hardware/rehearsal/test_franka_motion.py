"""`FrankaMotion`, the virtual Franka controller's behaviour, driven period by period."""

from __future__ import annotations

import numpy as np
import pytest

from robostack.hardware.rehearsal.virtual.arm import VirtualArm
from robostack.hardware.rehearsal.virtual.franka_motion import (
    LOST_COMMANDS_LIMIT,
    FrankaMotion,
    Mode,
)


@pytest.mark.parametrize("limit", [None, 250])  # None: FCI's
def test_a_motion_survives_one_period_fewer_than_its_lost_command_limit(limit):
    arm = VirtualArm(robot="panda", period=0.001)
    options = {} if limit is None else {"lost_commands_limit": limit}
    motion = FrankaMotion(arm, **options)
    limit = limit or LOST_COMMANDS_LIMIT
    assert motion.start()
    for _ in range(3):
        motion.command(np.zeros(7))
        for _ in range(limit - 1):  # the last torque again each period
            motion.command_lost()
        assert motion.mode is Mode.Move and motion.moving
    motion.command_lost()
    assert motion.mode is Mode.Reflex and not motion.moving
    assert motion.errors == {"communication_constraints_violation"}


def test_a_lost_command_limit_below_one_is_refused():
    with pytest.raises(ValueError, match="lost_commands_limit"):
        FrankaMotion(VirtualArm(robot="panda", period=0.001), lost_commands_limit=0)

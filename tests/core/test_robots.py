from __future__ import annotations

import pytest

from robostack.core.errors import UnknownNameError
from robostack.core.robots import get_robot


def test_unknown_robot_lists_the_known_ones():
    with pytest.raises(UnknownNameError, match="unknown robot 'kuka'; known: panda, ur5, ur5e"):
        get_robot("kuka")


def test_home_is_inside_the_limits(robot_name):
    description = get_robot(robot_name)
    description.spec.check_positions(description.q_home)

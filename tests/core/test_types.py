"""Value types refuse malformed input with errors that name the problem."""

from __future__ import annotations

import numpy as np
import pytest

from robostack.core.errors import LimitError, ShapeError
from robostack.core.robots import get_robot
from robostack.core.types import TrajectoryChunk


def test_check_positions_names_joint_value_and_limit():
    spec = get_robot("panda").spec
    q = get_robot("panda").q_home.copy()
    q[3] = 0.2  # joint 4 must stay below -0.0698
    with pytest.raises(LimitError) as error:
        spec.check_positions(q, what="reference")
    message = str(error.value)
    assert "panda_joint4" in message and "0.2000" in message and "-0.0698" in message
    assert error.value.joint == "panda_joint4" and error.value.violated == pytest.approx(-0.0698)


def test_check_positions_reports_the_first_offending_row():
    spec = get_robot("ur5e").spec
    rows = np.zeros((5, 6))
    rows[3, 1] = -7.0
    with pytest.raises(LimitError, match=r"shoulder_lift_joint is -7\.0000 rad, below the lower"):
        spec.check_positions(rows)


def test_check_positions_refuses_nan_and_wrong_width():
    spec = get_robot("panda").spec
    with pytest.raises(ValueError, match="NaN"):
        spec.check_positions(np.full(7, np.nan))
    with pytest.raises(ShapeError):
        spec.check_positions(np.zeros(6))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"t0": 0.0, "dt": 0.1, "q": np.zeros((1, 7))}, "shape"),
        ({"t0": 0.0, "dt": 0.1, "q": np.zeros(7)}, "shape"),
        ({"t0": 0.0, "dt": 0.0, "q": np.zeros((4, 7))}, "dt must be a positive"),
        ({"t0": float("nan"), "dt": 0.1, "q": np.zeros((4, 7))}, "t0 must be finite"),
        ({"t0": 0.0, "dt": 0.1, "q": np.zeros((4, 7)), "gripper": np.zeros(3)}, "gripper"),
    ],
)
def test_chunk_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrajectoryChunk(**kwargs)


def test_chunk_is_immutable_and_knows_its_end():
    chunk = TrajectoryChunk(t0=1.0, dt=0.1, q=np.zeros((16, 7)))
    assert chunk.horizon == 16 and chunk.t_end == pytest.approx(2.5)
    with pytest.raises(ValueError):
        chunk.q[0, 0] = 1.0

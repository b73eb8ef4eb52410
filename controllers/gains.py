"""Default gains per robot and controller: the values `robostack track` uses.

Panda impedance gains are the ones in Franka's joint impedance example (libfranka). The
others were tuned here on the built-in references (`robostack track`), staying stable with a
2x margin on the 1 kHz explicit damping bound D dt / M < 2; docs/results.md's tracking table has the
errors they give.
"""

from __future__ import annotations

PANDA = {
    "pid": {
        "kp": [1500, 1500, 1500, 1500, 500, 300, 150],
        "ki": [1500, 1500, 1500, 1500, 500, 300, 150],
        "kd": [80, 80, 80, 80, 30, 25, 15],
        "integral_limit": [5, 5, 5, 5, 1, 1, 1],
    },
    "impedance": {
        "stiffness": [600, 600, 600, 600, 250, 150, 50],
        "damping": [50, 50, 50, 50, 30, 25, 15],
    },
    "computed_torque": {"kp": [1600] * 7, "kd": [80] * 7},
}

UR = {
    "pid": {
        "kp": [6000, 6000, 6000, 800, 800, 500],
        "ki": [6000, 6000, 6000, 800, 800, 500],
        "kd": [300, 300, 200, 30, 30, 20],
        "integral_limit": [10, 10, 10, 2, 2, 2],
    },
    "impedance": {
        "stiffness": [3000, 3000, 3000, 400, 400, 250],
        "damping": [200, 200, 150, 20, 20, 15],
    },
    "computed_torque": {"kp": [1600] * 6, "kd": [80] * 6},
}

DEFAULT_GAINS: dict[str, dict[str, dict[str, list[float]]]] = {
    "panda": PANDA,
    "ur5e": UR,
    "ur5": UR,
}

"""robostack: robot control and policy learning, in layers that import only downwards.

``core`` (types, errors, the `Robot` interface, robot descriptions, the rigid-body model)
<- ``transport`` (LCM messages, codec, bus) <- the components ``controllers``, ``policies``,
``sim`` and ``hardware`` <- ``runtime`` (the 1 kHz loop, safety, recording, chunk sources)
<- ``sessions`` (episodes, tracking, collection, replay, evaluation, environments)
<- ``launcher`` <- ``benchmarks`` <- ``cli``. ``docs/architecture.md`` explains each layer;
``pyproject.toml``'s import-linter contract enforces the order.
"""

import os

# MuJoCo picks its OpenGL platform when it is first imported: cameras render offscreen through
# EGL (Mesa's software EGL where there is no GPU) unless the user chose another platform.
os.environ.setdefault("MUJOCO_GL", "egl")

__version__ = "0.1.0"

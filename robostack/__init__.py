"""robostack: robot control and policy learning.

Core layer: value types (`robostack.types`), the `Robot` interface (`robostack.robot`), robot
descriptions (`robostack.robots`), the rigid-body model (`robostack.model`), and on top the
control loop (`robostack.loop`) and the command line (`robostack.cli`).
"""

__version__ = "0.1.0"

"""Where the data folders live: ``assets/`` and ``launch/`` sit next to the Python packages.

The README installs robostack with ``pip install -e .``, so the folders are found relative to
the source tree; ``ROBOSTACK_ROOT`` overrides the root for unusual installs.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("ROBOSTACK_ROOT", Path(__file__).resolve().parents[2]))
ASSETS = ROOT / "assets"
ROBOT_DESCRIPTIONS = ASSETS / "robots"
LAUNCH_FILES = ROOT / "launch"
DEFAULT_RUNS_DIR = Path("runs")  # session recordings, relative to the working directory
CHECKPOINTS = ASSETS / "checkpoints"  # small trained policies shipped with the code

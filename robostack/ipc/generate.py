"""Regenerate the Python message classes from the .lcm files: ``python -m robostack.ipc.generate``.

The classes in `robostack.ipc.lcmtypes` are committed, written by the lcm-gen that ships in the
``lcm`` wheel; run this after changing a .lcm file (a test checks they are up to date).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LCMTYPES = Path(__file__).resolve().parent / "lcmtypes"


def lcm_gen() -> Path:
    """The lcm-gen executable of the installed ``lcm`` package."""
    import lcm

    return Path(lcm.LCM_BIN_DIR).resolve() / "lcm-gen"


def generate(out: Path = LCMTYPES.parent) -> list[Path]:
    """Run lcm-gen on every .lcm file into ``out``/lcmtypes; return the Python files written."""
    sources = sorted(LCMTYPES.glob("*.lcm"))
    subprocess.run(
        [str(lcm_gen()), "--python", "--ppath", str(out), *map(str, sources)], check=True
    )
    return sorted((out / "lcmtypes").glob("*.py"))


if __name__ == "__main__":
    for path in generate():
        print(path)
    sys.exit(0)

"""Regenerate the Python message classes from the .lcm files: ``python -m
robostack.transport.generate``.

The classes in `robostack.transport.lcmtypes` are committed, written by the lcm-gen that ships in
the
``lcm`` wheel; run this after changing a .lcm file (a test checks they are up to date).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

LCMTYPES = Path(__file__).resolve().parent / "lcmtypes"
PREFIX = "robostack.transport"  # the .lcm files' package, lcmtypes, lives in this one


def lcm_gen() -> Path:
    """The lcm-gen executable of the installed ``lcm`` package."""
    import lcm

    return Path(lcm.LCM_BIN_DIR).resolve() / "lcm-gen"


def generate(out: Path = LCMTYPES.parent) -> list[Path]:
    """Run lcm-gen on every .lcm file, into ``out``/lcmtypes; return the Python files written.
    lcm-gen appends to an ``__init__.py`` it finds, so it writes into a fresh folder first. The
    package prefix makes a message that nests another (observation_t's image_t) import it from
    `robostack.transport.lcmtypes`; it changes no fingerprint."""
    sources = sorted(LCMTYPES.glob("*.lcm"))
    with tempfile.TemporaryDirectory() as fresh:
        command = [str(lcm_gen()), "--python", "--ppath", fresh, "--package-prefix", PREFIX]
        subprocess.run([*command, *map(str, sources)], check=True)
        written = sorted(Path(fresh, *PREFIX.split("."), "lcmtypes").glob("*.py"))
        (out / "lcmtypes").mkdir(parents=True, exist_ok=True)
        for path in written:
            shutil.copyfile(path, out / "lcmtypes" / path.name)
    return sorted(out / "lcmtypes" / path.name for path in written)


if __name__ == "__main__":
    for path in generate():
        print(path)
    sys.exit(0)

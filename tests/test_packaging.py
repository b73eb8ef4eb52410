"""What `pip install .` puts into site-packages: the one `robostack` namespace, complete."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_installs_only_the_robostack_namespace(tmp_path):
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
    subprocess.run(
        [*pip_wheel, "--no-build-isolation", "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True,
        cwd=tmp_path,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("robostack-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.endswith(".dist-info/RECORD")}
    assert top == {"robostack", "robostack-0.1.0.dist-info"}
    for component in ("controllers", "policies", "sim", "hardware"):
        assert f"robostack/{component}/__init__.py" in names
    assert "robostack/hardware/rehearsal/virtual/franka_controller.py" in names
    assert "robostack/transport/lcmtypes/observation_t.lcm" in names

"""What `pip install .` puts into site-packages, and the layer contract on that layout.

import-linter reads a package from one folder, so the contract (pyproject.toml) is checked on
the installed copy, where robostack.controllers, .policies, .sim and .hardware sit inside
robostack/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "robostack", "controllers", "policies", "sim", "hardware")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """`pip install --target` of a copy of the sources (no build/ left in the checkout)."""
    tmp = tmp_path_factory.mktemp("packaging")
    for name in SOURCES:
        source, copy = ROOT / name, tmp / "src" / name
        if source.is_dir():
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, copy)
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "--target", str(tmp / "site"), str(tmp / "src")], check=True, timeout=300)
    return tmp / "site"


def test_pip_installs_only_the_robostack_namespace(installed):
    top = {path.name for path in installed.iterdir()} - {"bin"}  # bin: the console script
    assert top == {"robostack", "robostack-0.1.0.dist-info"}
    for component in ("controllers", "policies", "sim", "hardware"):
        assert (installed / "robostack" / component / "__init__.py").is_file()
    assert (installed / "robostack/hardware/rehearsal/virtual/franka_controller.py").is_file()
    assert (installed / "robostack/transport/lcmtypes/observation_t.lcm").is_file()


def test_no_import_runs_back_up_a_layer(installed):
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("lint-imports")),
            "--no-cache",
            str(ROOT / "pyproject.toml"),
        ],
        cwd=installed,
        env={**os.environ, "PYTHONPATH": str(installed)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout

"""Two test suites at once on one host, as two people or two CI jobs would run them: a small
real subset (a split session on the default LCM URL, a virtual UR controller behind the
unmodified ur_rtde client) runs twice at the same time, each in its own pytest, and both pass:
their sessions keep to channels of their own and their virtual robots to loopback addresses
of their own (`tests.conftest.loopback`). Neither leaves a process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import started_by_suite

ROOT = Path(__file__).resolve().parents[1]
SUBSET = (
    "tests/launcher/test_split_session.py::"
    "test_a_split_launch_on_the_default_url_keeps_to_channels_of_its_own",
    "tests/hardware/rehearsal/test_ur_controller.py::"
    "test_the_controller_answers_the_client_on_its_own_address",
)
SUITE_TIMEOUT_S = 900


def test_two_suites_at_once_both_pass(tmp_path):
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    suites = [
        subprocess.Popen(
            [*pytest, "--basetemp", str(tmp_path / f"suite{i}"), *SUBSET],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        for i in range(2)
    ]
    try:
        outputs = [suite.communicate(timeout=SUITE_TIMEOUT_S)[0] for suite in suites]
    finally:
        for suite in suites:
            if suite.poll() is None:
                os.killpg(suite.pid, signal.SIGKILL)
                suite.communicate()
    for suite, out in zip(suites, outputs, strict=True):
        assert suite.returncode == 0, out[-4000:]
        assert f"{len(SUBSET)} passed" in out, out[-4000:]
        assert "the reaper ended" not in out, out[-4000:]
        assert started_by_suite(suite.pid) == []

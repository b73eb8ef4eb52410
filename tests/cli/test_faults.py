"""Faults and bad input through the public commands: every stop obeyed and acknowledged, every
refusal before motion with exit 2 and one line, every failure a clear error."""

from __future__ import annotations

import json
import threading

import pytest

from robostack.cli.main import main
from robostack.core.paths import LAUNCH_FILES
from robostack.runtime.control_link import ControlLink
from tests.runtime.safety.test_monitor import monitor
from tests.transport.helpers import private_config


def test_stop_says_who_obeyed_a_stop_of_any_length(capsys):
    config = private_config()
    with ControlLink(config=config) as link:
        link.bind(monitor())
        done = threading.Event()

        def listen() -> None:
            while not done.is_set():
                link.wait(0.02)

        listener = threading.Thread(target=listen)
        listener.start()
        try:
            code = main(["stop", "--url", config.url, "--reason", "停" * 3000, "--json"])
        finally:
            done.set()
            listener.join()
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["ok"]
    (obeyed,) = report["obeyed_by"]
    assert obeyed["session"] == link.session and obeyed["state"] == "stopping"
    (request,) = link.stop_requests
    assert request.endswith("停...")  # cut at the sender, whole characters


def test_stop_fails_when_no_control_process_obeyed(capsys):
    config = private_config()
    code = main(["stop", "--url", config.url, "--wait", "0.3"])
    assert code == 1
    assert "no control process acknowledged it" in capsys.readouterr().err


NEGATED_GOALS = (
    "do not reach the blue marker behind the wall",
    "don't push the red cube onto the green square",
    "never push the red cube onto the green square",
    "push the red cube onto the green square, no wait, stop",
)


@pytest.mark.parametrize("launch_file", ["panda_mujoco.toml", "franka_fci.toml"])
def test_negated_goals_are_refused_by_a_dry_run_too(capsys, launch_file):
    for goal in NEGATED_GOALS:
        argv = ["launch", goal, "--launch", str(LAUNCH_FILES / launch_file), "--dry-run"]
        assert main([*argv, "--address", "172.16.0.2"] if "fci" in launch_file else argv) == 2
        err = capsys.readouterr().err
        assert "negates or cancels itself" in err and len(err.strip().splitlines()) == 1

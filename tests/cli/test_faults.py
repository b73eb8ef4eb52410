"""Faults and bad input through the public commands: every stop obeyed and acknowledged, every
refusal before motion with exit 2 and one line, every failure a clear error."""

from __future__ import annotations

import json
import threading

from robostack.cli.main import main
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

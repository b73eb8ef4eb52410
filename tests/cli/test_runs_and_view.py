"""`robostack runs` and `robostack view` against real recordings and a real viewer process."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robostack.cli.main import main
from robostack.sessions.tracking import TrackingOptions, run_tracking


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    run_tracking(TrackingOptions(robot="ur5", controller="pid", reference="circle", runs_dir=root))
    return root


def test_runs_lists_recent_runs_with_their_outcome(runs_dir, capsys):
    assert main(["runs", "--runs-dir", str(runs_dir), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["runs"]
    assert row["outcome"] == "completed" and row["ticks"] == 6500 and row["rrd_mb"] > 0


def test_the_recording_verifies_with_rerun(runs_dir):
    (run,) = runs_dir.iterdir()
    rerun = [sys.executable, "-c", "import sys, rerun.__main__ as m; sys.exit(m.main())"]
    done = subprocess.run(
        [*rerun, "rrd", "verify", str(run / "session.rrd")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def _free_port() -> int:
    """A port P with P and P + 1 (the viewer's data port) free: outside the ephemeral range,
    where the other tests' closed connections linger in TIME_WAIT and block a bind."""
    for port in random.Random().sample(range(20000, 29000, 2), 200):
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no free pair of ports in 20000-29000")


@pytest.mark.parametrize("any_port", [False, True])
def test_view_web_serves_on_localhost_only(runs_dir, any_port, tmp_path):
    """On the port given, or with --port 0 on the free port it prints (its log in tmp_path)."""
    (run,) = runs_dir.iterdir()
    port = 0 if any_port else _free_port()
    viewer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "robostack.cli.main",
            "view",
            str(run),
            "--web",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: everything it starts is ours to end
        env={**os.environ, "TMPDIR": str(tmp_path)},  # the viewer's log goes to the temp folder
    )
    try:
        first = viewer.stdout.readline()  # the viewer's URL, once it serves
        if any_port:
            port = int(first.split("http://127.0.0.1:")[1].split()[0])
            assert port > 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    assert conn.recv(12).startswith(b"HTTP/1.")
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the web viewer never answered on 127.0.0.1")
        said = first + viewer.stdout.readline()
        assert said == (
            f"web viewer: http://127.0.0.1:{port}\n"
            f"recording served to it from: 127.0.0.1:{port + 1}\n"
        )
        if shutil.which("ss"):  # iproute2: which addresses the port is bound to
            listening = subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout
            bound = [line for line in listening.splitlines() if f":{port} " in line]
            assert bound and all("127.0.0.1:" in line for line in bound)
    finally:
        os.killpg(viewer.pid, signal.SIGTERM)
        viewer.wait(timeout=120)  # a loaded machine may take its time to tear a viewer down
    # `robostack view` became the viewer (exec): ending its group ends everything it ran
    deadline = time.monotonic() + 120
    while _processes_mentioning(f"--web-viewer-port\0{port}") and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _processes_mentioning(f"--web-viewer-port\0{port}")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(viewer.pid, signal.SIGKILL)  # never leave a viewer behind, even on failure
    assert not left


def _processes_mentioning(text: str) -> list[int]:
    """Pids whose command line contains ``text`` (arguments separated by NUL), from /proc."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().decode(errors="replace"):
                pids.append(int(cmdline.parent.name))
        except OSError:  # the process ended meanwhile
            continue
    return pids


def test_view_refuses_what_it_cannot_show(tmp_path, monkeypatch, capsys):
    assert main(["view", str(tmp_path / "nothing")]) == 2
    assert "no recording at" in capsys.readouterr().err
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    (tmp_path / "session.rrd").write_bytes(b"x")
    assert main(["view", str(tmp_path)]) == 2
    assert "use --web" in capsys.readouterr().err


def test_the_run_folder_files_the_cli_looks_for_are_the_recorders():
    from robostack.cli import options
    from robostack.runtime.recording import RRD, SUMMARY

    assert (options.RECORDING, options.SUMMARY) == (RRD, SUMMARY)


def test_view_says_when_a_folder_is_no_session_recording(tmp_path, capsys):
    (tmp_path / "eval.json").write_text("{}")
    assert main(["view", str(tmp_path)]) == 2
    assert "is a folder without a session recording" in capsys.readouterr().err
    assert main(["view", str(tmp_path / "eval.json")]) == 2
    assert "is not a session recording" in capsys.readouterr().err

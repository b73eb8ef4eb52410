"""The two processes of a split session, started, watched and ended together.

`run_split` starts ``robostack policy-server`` and then ``robostack control`` as child
processes of this Python, each in its own process group: a Ctrl-C in the terminal, a SIGTERM
or a SIGHUP (the terminal closed) reaches only this process, which passes a SIGINT on to the
control process (the arm STOPs through the safety monitor, the recording is closed; a second
one aborts). Should this process die without passing anything on, the children learn it from
the kernel (`follow_supervisor`, Linux) and stop the same way. It waits for the control
process, whatever way it ends; when the policy server dies first, the control process HOLDs the
arm on its own (its watchdog) and ends the session. The server is then asked to end (SIGTERM),
and killed if it does not within ``grace_s``. Both report one JSON object on their stdout.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from robostack.launcher.plan import LaunchPlan

COMMAND = [sys.executable, "-m", "robostack.cli.main"]
SUPERVISOR_ENV = "ROBOSTACK_SUPERVISOR_PID"  # set in the children: whom they follow
PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclass(frozen=True)
class ProcessReport:
    """One child process: its pid, exit code and the JSON object it printed (or None)."""

    name: str
    pid: int
    exit_code: int
    report: dict | None

    def to_dict(self) -> dict:
        return {"pid": self.pid, "exit_code": self.exit_code, "report": self.report}


def run_split(
    *,
    control_args: list[str],
    server_args: list[str],
    grace_s: float = 10.0,
    on_start: Callable[[int, int], None] | None = None,
) -> tuple[ProcessReport, ProcessReport]:
    """Run a split session (module doc); ``on_start(server_pid, control_pid)`` is called once
    both run. Returns the control process's and the policy server's reports."""
    server = _start(["policy-server", *server_args, "--json"])
    control = None
    try:
        control = _start(["control", *control_args, "--json"])
        if on_start is not None:
            on_start(server.pid, control.pid)

        def forward(signum, frame):  # the first STOPs the arm, a second aborts (stop_on_signals)
            control.send_signal(signal.SIGINT)

        stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        previous = {signum: signal.signal(signum, forward) for signum in stops}
        try:
            control_out, _ = control.communicate()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    finally:
        if control is not None and control.poll() is None:  # this process is failing
            _end(control, grace_s, signum=signal.SIGINT)
        server_code, server_out = _end(server, grace_s)
    return (
        ProcessReport("control", control.pid, control.returncode, _last_json(control_out)),
        ProcessReport("policy_server", server.pid, server_code, _last_json(server_out)),
    )


def follow_supervisor(signum: int) -> None:
    """In a child of `run_split` (or of any process that sets `SUPERVISOR_ENV` to its pid for
    its children, as the test suite does): get ``signum`` when the supervisor dies (Linux's
    PR_SET_PDEATHSIG), or now if it is gone already. Does nothing outside a split session or
    in the supervisor itself."""
    parent = os.environ.get(SUPERVISOR_ENV)
    if not parent or int(parent) == os.getpid():
        return
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signum)
    if os.getppid() != int(parent):
        os.kill(os.getpid(), signum)


@contextmanager
def control_args(plan: LaunchPlan, *extra: str) -> Iterator[list[str]]:
    """``robostack control`` arguments that hand it ``plan`` whole, then ``extra``: the plan as
    a JSON file (`robostack.launcher.plan.write_plan`) in a private temporary folder while
    inside, removed on the way out. The control process checks it again but does not read
    the goal again."""
    from robostack.launcher.plan import write_plan

    with tempfile.TemporaryDirectory(prefix="robostack-plan-") as folder:
        path = Path(folder) / "plan.json"
        write_plan(plan, path)
        yield ["--plan", str(path), *extra]


def with_session_channels(plan: LaunchPlan) -> LaunchPlan:
    """``plan`` with the channels one split session uses (`IpcSection.for_session`): its own
    unless its launch file says ``[ipc] shared``."""
    from dataclasses import replace

    return replace(plan, launch=replace(plan.launch, ipc=plan.launch.ipc.for_session()))


def policy_server_args(plan: LaunchPlan, *extra: str) -> list[str]:
    """``robostack policy-server`` arguments serving ``plan``'s checkpoint as its launch file
    says (sampler, URL, prefix, session tag), then ``extra``."""
    from robostack.launcher.session import predict_options
    from robostack.policies.checkpoint import read_checkpoint_config

    launch = plan.launch
    args = ["--checkpoint", str(plan.checkpoint), "--url", launch.ipc.url]
    args += ["--prefix", launch.ipc.prefix, "--session", launch.ipc.session_tag]
    policy = read_checkpoint_config(plan.checkpoint).get("policy", "")
    flags = {"sampler": "--sampler", "steps": "--sampling-steps", "guidance_scale": "--guidance"}
    for key, value in predict_options(launch.policy, policy).items():
        args += [flags[key], str(value)]
    return [*args, *extra]


@contextmanager
def serving(plan: LaunchPlan, *extra: str, grace_s: float = 10.0) -> Iterator[subprocess.Popen]:
    """A policy server for ``plan`` (`policy_server_args`) as a child process while inside;
    ended on the way out. ``.report`` afterwards: its exit code and JSON report."""
    server = _start(["policy-server", *policy_server_args(plan, *extra), "--json"])
    try:
        yield server
    finally:
        code, out = _end(server, grace_s)
        server.report = ProcessReport("policy_server", server.pid, code, _last_json(out))


def _start(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, SUPERVISOR_ENV: str(os.getpid())}
    return subprocess.Popen(
        [*COMMAND, *args], stdout=subprocess.PIPE, text=True, start_new_session=True, env=env
    )


def _end(
    process: subprocess.Popen, grace_s: float, *, signum: int = signal.SIGTERM
) -> tuple[int, str]:
    """Ask ``process`` to end (``signum``), kill it after ``grace_s``; its exit code and
    stdout."""
    if process.poll() is None:
        process.send_signal(signum)
    try:
        out, _ = process.communicate(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return process.returncode, out


def _last_json(out: str) -> dict | None:
    """The last line of ``out`` that is a JSON object, or None."""
    for line in reversed((out or "").splitlines()):
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None

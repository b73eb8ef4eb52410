"""`HandProcess`: pylibfranka's ``Gripper`` in a process of its own.

pylibfranka holds the Python interpreter while its calls block, and a Hand's ``move`` blocks
until the fingers stop (100 ms to seconds): called from a thread of the control process, it
would stall the 1 kHz loop for that long (seen against the virtual Franka: a 116 ms read).
`HandProcess` has the ``Gripper`` methods the backend uses and forwards each call to a child
process that owns the real ``Gripper``; the caller waits on a pipe, which releases the
interpreter, so the control loop keeps its ticks.
"""

from __future__ import annotations

import multiprocessing
from types import SimpleNamespace

STARTUP_S = 10.0  # the child's import and connection


class HandProcess:
    """``pylibfranka.Gripper(address)`` in a child process (module doc). Raises
    ``RuntimeError`` (as pylibfranka does) when the Hand cannot be reached."""

    def __init__(self, address: str):
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(address, child), name="franka-hand", daemon=True
        )
        self._process.start()
        child.close()
        if not self._conn.poll(STARTUP_S):
            self._process.kill()
            raise RuntimeError(f"the Franka Hand at {address} did not answer in {STARTUP_S} s")
        self._result(self._conn.recv())

    def move(self, width: float, speed: float) -> bool:
        return self._call("move", width, speed)

    def grasp(
        self,
        width: float,
        speed: float,
        force: float,
        epsilon_inner: float = 0.005,
        epsilon_outer: float = 0.005,
    ) -> bool:
        return self._call("grasp", width, speed, force, epsilon_inner, epsilon_outer)

    def read_once(self) -> SimpleNamespace:
        """The ``GripperState`` fields the backend reads: ``width`` (m), ``is_grasped``."""
        width, grasped = self._call("state")
        return SimpleNamespace(width=width, is_grasped=grasped)

    def server_version(self) -> int:
        return self._call("server_version")

    def stop(self) -> bool:
        try:
            return self._call("stop")
        finally:
            self._conn.close()
            self._process.join(timeout=2.0)
            if self._process.is_alive():
                self._process.kill()

    def _call(self, method: str, *args):
        self._conn.send((method, args))
        return self._result(self._conn.recv())

    @staticmethod
    def _result(answer: tuple):
        ok, value = answer
        if not ok:
            raise RuntimeError(value)
        return value


def _serve(address: str, conn) -> None:
    """The child: owns the ``Gripper``, answers ``(method, args)`` with ``(ok, value)``."""
    import pylibfranka

    try:
        gripper = pylibfranka.Gripper(address)
    except Exception as error:
        conn.send((False, str(error)))
        return
    conn.send((True, None))
    calls = {
        "move": gripper.move,
        "grasp": gripper.grasp,
        "state": lambda: _state(gripper.read_once()),
        "server_version": gripper.server_version,
        "stop": gripper.stop,
    }
    while True:
        try:
            method, args = conn.recv()
        except EOFError:
            return
        try:
            conn.send((True, calls[method](*args)))
        except Exception as error:
            conn.send((False, f"{type(error).__name__}: {error}"))
        if method == "stop":
            return


def _state(state) -> tuple[float, bool]:
    return float(state.width), bool(state.is_grasped)

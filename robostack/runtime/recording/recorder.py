"""Session recordings: ``runs/<timestamp>-<name>/`` with session.rrd, events.jsonl, summary.json.

The loop never waits for logging. `SessionRecorder.record` copies one tick into a
preallocated ring buffer (a handful of array writes); a background thread drains the buffer
every `FLUSH_PERIOD_S` and sends whole batches to Rerun with ``rr.send_columns``. Events are
appended to events.jsonl (and flushed) the moment they happen, from the loop's thread: they
are rare and must survive a crash. `close` (also on exception and SIGINT, via ``with``)
drains every row up to the last tick before the .rrd is finalized, so nothing recorded is lost.

A session may run several loops into one recording (a real robot's start move, then its
episode): `begin_phase` names each one's segment. Its ticks continue the recording's tick count,
its events carry the phase in events.jsonl, and ``/phase`` in the .rrd marks where it begins.

A recorder failure never reaches the loop: it is kept in `error`, the rows not sent count as
dropped, and summary.json says so; ``on_error`` hears of it at once (the session STOPs the arm
rather than run on unrecorded, `robostack.runtime.assembly.recording`). A failure is a write
that raised, or the disk of the run folder down to `MIN_FREE_BYTES` (Rerun's own writer reports
a full disk only to its log). summary.json is written whole or not at all (a temporary file
renamed over it).
"""

from __future__ import annotations

import errno
import json
import os
import queue
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np

from robostack.core.errors import RobostackError
from robostack.core.model import RigidBodyModel
from robostack.core.robots import RobotDescription
from robostack.core.types import JointReference, JointState, TrajectoryChunk
from robostack.runtime.safety.events import SafetyEvent

FLUSH_PERIOD_S = 0.25  # fewer, bigger batches: fewer GIL handoffs away from the loop
POSE_RATE_HZ = 30.0
DEFAULT_CAPACITY = 1 << 15  # rows: 32 s of ticks at 1 kHz before an unserviced buffer overruns
RRD, EVENTS, SUMMARY = "session.rrd", "events.jsonl", "summary.json"
MIN_FREE_BYTES = 32 << 20  # below this on the run folder's disk, the recording has failed


def check_runs_dir(root: Path) -> None:
    """Create ``root`` if missing and write a file into it, or raise `RobostackError` saying
    why recordings cannot go there (a file, not writable, a full disk)."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root) as probe:
            probe.write(b"robostack")
            probe.flush()
    except OSError as error:
        raise RobostackError(
            f"the runs folder {root} cannot hold recordings ({error.strerror or error})"
        ) from None


def new_run_dir(root: Path, name: str) -> Path:
    """Create ``root/<YYYYmmdd-HHMMSS>-<name>`` (suffixed if taken) and return it;
    `RobostackError` if ``root`` cannot hold recordings (`check_runs_dir`)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "session"
    check_runs_dir(root)
    for n in range(1000):
        path = root / (f"{stamp}-{safe}" + (f"-{n}" if n else ""))
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free run folder name under {root} for {safe}")


class SessionRecorder:
    """Records one session into ``run_dir``; use as a context manager.

    Args:
        run_dir: an existing, empty folder (see `new_run_dir`).
        description: the robot (its URDF is logged as the 3D model).
        control_rate_hz: ticks per second (sets the pose decimation to about 30 Hz).
        capacity: ring-buffer rows.
        on_error: called once, from the loop's or the recorder's thread, with the error that
            ended the recording.
        min_free_bytes: the free space on the run folder's disk below which it has failed.
    """

    def __init__(
        self,
        *,
        run_dir: Path,
        description: RobotDescription,
        control_rate_hz: float,
        capacity: int = DEFAULT_CAPACITY,
        on_error: Callable[[BaseException], None] | None = None,
        min_free_bytes: int = MIN_FREE_BYTES,
    ):
        self.run_dir = Path(run_dir)
        self.on_error = on_error
        self.min_free_bytes = min_free_bytes
        self.description = description
        self.dof = dof = len(description.arm_joints)
        self.capacity = capacity
        self.pose_every = max(1, round(control_rate_hz / POSE_RATE_HZ))
        # one row per tick: tick, t, q, q_ref, dq, tau_cmd, tau_measured, gripper width
        self._buffer = np.full((capacity, 3 + 5 * dof), np.nan)
        self._q, self._q_ref, self._dq, self._tau, self._tau_measured = (
            slice(2 + k * dof, 2 + (k + 1) * dof) for k in range(5)
        )
        self._written = 0  # rows written by the loop (only the loop changes it)
        self._sent = 0  # rows handled by the thread (only the thread changes it)
        self.stored = 0  # rows sent to the .rrd
        self._chunks: queue.SimpleQueue = queue.SimpleQueue()
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._frames: queue.SimpleQueue = queue.SimpleQueue()
        self._phases: queue.SimpleQueue = queue.SimpleQueue()
        self.phase: str | None = None  # the segment being recorded (begin_phase)
        self._tick_base = 0  # added to the loop's ticks: the recording's own tick count
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._events_file = None
        self.error: BaseException | None = None
        self.closed = False
        self.summary: dict = {}  # the session's own words (robostack.runtime.assembly.recording)
        self.monitors: list = []  # the safety monitors recorded (their listener failures)

    # --- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> SessionRecorder:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        from robostack.runtime.recording.rerun_writer import RerunWriter

        self._events_file = (self.run_dir / EVENTS).open("a", encoding="utf-8")
        try:
            self._writer = RerunWriter(
                self.run_dir / RRD, description=self.description, recording_id=self.run_dir.name
            )
            self._model = RigidBodyModel(self.description)  # the thread's own (not thread-safe)
        except BaseException:
            self._events_file.close()
            raise
        self._thread = threading.Thread(target=self._run, name="robostack-recorder", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Drain every recorded tick and finalize the .rrd (idempotent, never raises: a
        failure is kept in `error`)."""
        if self.closed:
            return
        self.closed = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self._drain()  # anything written after the thread's last pass
        finally:
            try:
                last = (self._written - 1) % self.capacity
                self._writer.close(
                    int(self._buffer[last, 0]) if self._written else 0,
                    float(self._buffer[last, 1]) if self._written else 0.0,
                )
            except Exception as error:
                self.error = self.error or error
            finally:
                if self._events_file is not None:
                    self._events_file.close()
                # nothing is reported after close; the callback usually holds the session's
                # loop, which holds this recorder: dropping it frees both without a GC pass
                self.on_error = None

    @property
    def dropped(self) -> int:
        """Rows recorded by the loop but not in the .rrd (overwritten, or a failed send)."""
        return self._written - self.stored

    def write_summary(self, summary: dict) -> bool:
        """summary.json: ``summary`` plus what the recording holds (call after `close`),
        written whole or not at all; whether it was (a failure is kept in `error`)."""
        summary = {
            **summary,
            "recorded_ticks": self.stored,
            "dropped_ticks": self.dropped,
            "recording_error": None if self.error is None else str(self.error),
        }
        partial = self.run_dir / f".{SUMMARY}.partial"
        try:
            partial.write_text(json.dumps(summary, indent=2) + "\n")
            os.replace(partial, self.run_dir / SUMMARY)
            return True
        except OSError as error:
            partial.unlink(missing_ok=True)
            self.error = self.error or error
            return False

    def begin_phase(self, phase: str, t: float) -> None:
        """Record what follows as segment ``phase`` (e.g. ``start_move``, ``episode``) from
        robot time ``t`` s: the next loop's tick 0 comes right after the last tick recorded
        (module doc). Call from the loop's thread, between two loop runs."""
        last = self._buffer[(self._written - 1) % self.capacity, 0] if self._written else -1
        self.phase, self._tick_base = phase, int(last) + 1
        self._phases.put((self._tick_base, t, phase))

    # --- the loop's side (hot path) -----------------------------------------------------

    def record(
        self, tick: int, state: JointState, reference: JointReference, tau: np.ndarray
    ) -> None:
        """Copy one tick into the ring buffer; never blocks."""
        row = self._buffer[self._written % self.capacity]
        row[0] = self._tick_base + tick
        row[1] = state.t
        row[self._q] = state.q
        row[self._q_ref] = reference.q
        row[self._dq] = state.dq
        row[self._tau] = tau
        row[self._tau_measured] = np.nan if state.tau is None else state.tau
        row[-1] = np.nan if state.gripper_width is None else state.gripper_width
        self._written += 1

    def record_chunk(self, tick: int, t: float, chunk: TrajectoryChunk) -> None:
        self._chunks.put((self._tick_base + tick, t, chunk.q))

    def record_frames(self, tick: int, t: float, frames: dict[str, tuple]) -> None:
        """Queue camera frames {name: (image (H, W, 3) uint8, K (3, 3), pose (4, 4))} taken at
        ``tick``; they are encoded and written by the recorder's thread."""
        self._frames.put((self._tick_base + tick, t, frames))

    def record_event(self, event: SafetyEvent) -> None:
        """Append the event to events.jsonl now (flushed; with its phase, if one was begun),
        and queue it for the .rrd."""
        line = event.to_dict() if self.phase is None else {**event.to_dict(), "phase": self.phase}
        if self._events_file is not None and not self._events_file.closed:
            try:
                self._events_file.write(json.dumps(line) + "\n")
                self._events_file.flush()
            except OSError as error:
                self._fail(error)
        self._events.put((self._tick_base + event.tick, self.phase, event))

    # --- the thread's side --------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_PERIOD_S):
            self._drain()
            self._check_space()

    def _check_space(self) -> None:
        try:
            free = shutil.disk_usage(self.run_dir).free
        except OSError as error:
            self._fail(error)
            return
        if free < self.min_free_bytes:
            self._fail(
                OSError(
                    errno.ENOSPC,
                    f"{free / 2**20:.1f} MiB left on the disk of {self.run_dir}, below the "
                    f"{self.min_free_bytes / 2**20:.0f} MiB a recording keeps free",
                )
            )

    def _fail(self, error: BaseException) -> None:
        """Keep the first error and tell ``on_error`` (once)."""
        if self.error is not None:
            return
        self.error = error
        if self.on_error is not None:
            self.on_error(error)

    def _drain(self) -> None:
        """Send rows [sent, written). The loop may write on meanwhile: a row whose slot it may
        have overwritten during the copy (index <= written_after - capacity; equality is the
        row being written right now) is dropped, never sent torn or twice."""
        if self.error is not None:
            return
        try:
            written = self._written
            first = max(self._sent, written - self.capacity)
            index = np.arange(first, written)
            rows = self._buffer[index % self.capacity]  # a copy
            intact = index > self._written - self.capacity
            self._sent = written
            if intact.any():
                self._send_rows(rows[intact])
                self.stored += int(intact.sum())
            while not self._chunks.empty():
                tick, t, q = self._chunks.get()
                self._writer.chunk(tick, t, np.array([self._model.tool_pose(p)[0] for p in q]))
            while not self._phases.empty():
                self._writer.phase(*self._phases.get())
            while not self._events.empty():
                tick, phase, event = self._events.get()
                self._writer.event(event, tick=tick, phase=phase)
            while not self._frames.empty():
                tick, t, frames = self._frames.get()
                for name, (image, K, pose) in frames.items():
                    self._writer.camera(tick, t, name, image, K, pose)
        except Exception as error:  # kept for the summary; the loop must never see it
            self._fail(error)

    def _send_rows(self, rows: np.ndarray) -> None:
        ticks, times = rows[:, 0].astype(np.int64), rows[:, 1]
        self._writer.joints(
            ticks,
            times,
            {
                "q": rows[:, self._q],
                "q_ref": rows[:, self._q_ref],
                "dq": rows[:, self._dq],
                "tau_cmd": rows[:, self._tau],
                "tau_measured": rows[:, self._tau_measured],
            },
        )
        posed = rows[ticks % self.pose_every == 0]
        if len(posed):
            q = posed[:, self._q]
            tool = np.array([self._model.tool_pose(p)[0] for p in q])
            self._writer.poses(posed[:, 0].astype(np.int64), posed[:, 1], q, posed[:, -1], tool)

"""Everything robostack sends to Rerun, with the entity layout and the default blueprint.

Entities (timelines ``tick`` and ``time``, robot time in seconds):

- ``/joints/{q, q_ref, dq, tau_cmd, tau_measured}``: one multi-series scalar entity per
  signal, one series per joint (rad, rad/s, Nm).
- ``/robot/...``: the robot model from the project's URDF (Rerun's URDF loader); its joints
  are posed through ``/tf/<joint>`` transforms at the pose rate (about 30 Hz).
- ``/world/tool``: the tool position at the pose rate; ``/world/tool_path`` the whole path,
  written when the session ends; ``/world/chunk`` the active chunk's tool path (line strip).
- ``/world/cameras/<name>``: each simulated camera's frames at the policy rate, JPEG-encoded,
  under its pinhole (intrinsics, OpenCV axes) and pose in the base frame, so they show in the
  3D view where the camera is.
- ``/events``: safety events as text log entries (led by their phase, if any).
- ``/phase``: where each segment of a session of several loops begins (``start_move``,
  ``episode``), a text log entry at its first tick.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import rerun as rr
import rerun.blueprint as rrb
from rerun.urdf import UrdfTree

from robostack.core.robots import RobotDescription
from robostack.runtime.safety.events import Reaction, SafetyEvent

SIGNALS = ("q", "q_ref", "dq", "tau_cmd", "tau_measured")
_LEVEL = {
    Reaction.DROP: rr.TextLogLevel.INFO,
    Reaction.CLAMP: rr.TextLogLevel.INFO,
    Reaction.HOLD: rr.TextLogLevel.WARN,
    Reaction.STOP: rr.TextLogLevel.ERROR,
}


def blueprint() -> rrb.Blueprint:
    """The default layout: the robot in 3D beside joint plots and the safety log."""
    return rrb.Blueprint(
        rrb.Horizontal(
            rrb.Spatial3DView(name="robot", origin="/", contents=["/robot/**", "/world/**"]),
            rrb.Vertical(
                rrb.TimeSeriesView(
                    name="joint position [rad]", contents=["/joints/q", "/joints/q_ref"]
                ),
                rrb.TimeSeriesView(name="joint velocity [rad/s]", contents="/joints/dq"),
                rrb.TimeSeriesView(
                    name="joint torque [Nm]", contents=["/joints/tau_cmd", "/joints/tau_measured"]
                ),
                rrb.TextLogView(name="safety events", origin="/events"),
            ),
            column_shares=[3, 2],
        ),
        collapse_panels=True,
    )


def _save_with_blueprint(stream: rr.RecordingStream, path: Path) -> None:
    """``stream.save(path, default_blueprint=blueprint())``, minus its leak.

    Rerun 0.41 frees a recording only when nothing refers to it and it is swept (what
    ``rr.init`` does, rerun-io/rerun#2116), and the blueprint stream that ``save`` makes
    internally is never swept: a process writing one recording per episode grew by 1-3 MB an
    episode (measured by ``robostack soak``). Here the blueprint stream is made, handed over and
    disconnected explicitly (the steps of ``rerun.blueprint.api.create_in_memory_blueprint``),
    so that `_free_recordings` can free both; 0.03 MB remain per recording.
    """
    from rerun import bindings
    from rerun.recording_stream import RecordingStream

    layout = RecordingStream._from_native(
        bindings.new_blueprint(
            application_id="robostack",
            make_default=False,
            make_thread_default=False,
            default_enabled=True,
        )
    )
    layout.set_time("blueprint", sequence=0)
    blueprint()._log_to_stream(layout)
    storage = bindings.memory_recording(recording=layout.to_native())
    bindings.save(
        path=str(path), default_blueprint=storage, recording=stream.to_native(), write_footer=True
    )
    del storage
    layout.disconnect()


def _free_recordings() -> None:
    """Free the memory of every recording nothing refers to any more (see above)."""
    rr.bindings.flush_and_cleanup_orphaned_recordings()


class RerunWriter:
    """Writes one session to ``path`` (.rrd). Used from the recorder's thread only."""

    def __init__(self, path: Path, *, description: RobotDescription, recording_id: str):
        self.stream = rr.RecordingStream("robostack", recording_id=recording_id)
        _save_with_blueprint(self.stream, path)
        joint_names = list(description.arm_joints)
        for signal in SIGNALS:
            self.stream.log(f"joints/{signal}", rr.SeriesLines(names=joint_names), static=True)
        tree = UrdfTree.from_file_path(description.urdf, entity_path_prefix="robot")
        tree.log_urdf_to_recording(self.stream)
        self._arm = [tree.get_joint_by_name(name) for name in description.arm_joints]
        self._fingers = [tree.get_joint_by_name(name) for name in description.gripper_joints]
        self._path: list[np.ndarray] = []

    def _send(self, entity: str, index: list, columns) -> None:
        """``rr.send_columns``, then give the interpreter back to the control loop at once:
        converting a batch holds the GIL, and the loop must not wait for a whole drain."""
        rr.send_columns(entity, indexes=index, columns=columns, recording=self.stream)
        time.sleep(0)

    def _times(self, ticks: np.ndarray, times: np.ndarray) -> list:
        return [rr.TimeColumn("tick", sequence=ticks), rr.TimeColumn("time", duration=times)]

    def joints(self, ticks: np.ndarray, times: np.ndarray, signals: dict[str, np.ndarray]) -> None:
        """Per-tick joint signals: each (T, dof)."""
        index = self._times(ticks, times)
        for signal, values in signals.items():
            self._send(f"joints/{signal}", index, rr.Scalars.columns(scalars=values))

    def poses(
        self,
        ticks: np.ndarray,
        times: np.ndarray,
        q: np.ndarray,
        gripper: np.ndarray,
        tool: np.ndarray,
    ) -> None:
        """Pose the model: q (T, dof) rad, gripper (T,) m (NaN: unknown), tool (T, 3) m."""
        index = self._times(ticks, times)
        for j, joint in enumerate(self._arm):
            columns = joint.compute_transform_columns(q[:, j].tolist(), clamp=False)
            self._send(f"tf/{joint.name}", index, columns)
        if self._fingers and np.isfinite(gripper).all():
            for finger in self._fingers:
                columns = finger.compute_transform_columns((gripper / 2).tolist(), clamp=False)
                self._send(f"tf/{finger.name}", index, columns)
        self._send(
            "world/tool", index, rr.Points3D.columns(positions=tool).partition([1] * len(tool))
        )
        self._path.append(tool)

    def chunk(self, tick: int, t: float, tool_path: np.ndarray) -> None:
        """The active chunk's waypoints as a tool path (Tp, 3) m."""
        self._at(tick, t)
        self.stream.log("world/chunk", rr.LineStrips3D([tool_path], colors=[[255, 160, 0]]))

    def camera(
        self, tick: int, t: float, name: str, image: np.ndarray, K: np.ndarray, pose: np.ndarray
    ) -> None:
        """One frame of camera ``name``: ``image`` (H, W, 3) uint8, intrinsics ``K`` (3, 3) and
        its pose (4, 4) in the base frame (OpenCV axes: x right, y down, z forward)."""
        self._at(tick, t)
        entity = f"world/cameras/{name}"
        self.stream.log(entity, rr.Transform3D(translation=pose[:3, 3], mat3x3=pose[:3, :3]))
        height, width = image.shape[:2]
        self.stream.log(
            entity,
            rr.Pinhole(
                image_from_camera=K, resolution=[width, height], camera_xyz=rr.ViewCoordinates.RDF
            ),
        )
        self.stream.log(entity, rr.Image(image, color_model="RGB").compress(jpeg_quality=90))

    def phase(self, tick: int, t: float, name: str) -> None:
        """Segment ``name`` of the session begins at ``tick``, robot time ``t`` s."""
        self._at(tick, t)
        self.stream.log("phase", rr.TextLog(name, level=rr.TextLogLevel.INFO))

    def event(self, event: SafetyEvent, *, tick: int, phase: str | None = None) -> None:
        """``event`` at the recording's ``tick`` (its loop tick plus the phase's start)."""
        self._at(tick, event.t)
        joint = f" {event.joint}" if event.joint else ""
        text = (
            ("" if phase is None else f"[{phase}] ")
            + f"{event.reaction.name} {event.check}{joint}: {event.message} "
            f"(value {event.value:.4g}, limit {event.limit:.4g})"
        )
        self.stream.log("events", rr.TextLog(text, level=_LEVEL[event.reaction]))

    def close(self, last_tick: int, last_t: float) -> None:
        """Write the whole tool path and flush everything to disk."""
        if self._path:
            self._at(last_tick, last_t)
            path = np.concatenate(self._path)
            self.stream.log("world/tool_path", rr.LineStrips3D([path], colors=[[80, 160, 255]]))
        self.stream.flush()
        self.stream.disconnect()
        del self.stream
        _free_recordings()

    def _at(self, tick: int, t: float) -> None:
        self.stream.set_time("tick", sequence=tick)
        self.stream.set_time("time", duration=t)

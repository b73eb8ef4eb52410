"""Session recordings: a Rerun .rrd, events.jsonl and summary.json per run (`SessionRecorder`)."""

from robostack.runtime.recording.recorder import (
    EVENTS,
    RRD,
    SUMMARY,
    SessionRecorder,
    check_runs_dir,
    new_run_dir,
)

__all__ = ["EVENTS", "RRD", "SUMMARY", "SessionRecorder", "check_runs_dir", "new_run_dir"]

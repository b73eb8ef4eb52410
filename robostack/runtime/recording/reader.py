"""Read a session recording back with Rerun's own reader (``rerun.chunk.RrdReader``), also
one whose writer was killed before it could finish the file (no footer)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rerun as rr


def _chunks(rrd: Path, entity: str):
    reader = rr.chunk.RrdReader(rrd)
    try:
        chunks = reader.store().stream()
    except RuntimeError:  # no footer: the writer was killed; its messages read in order
        chunks = reader.stream()
    for chunk in chunks:
        if chunk.entity_path == entity and not chunk.is_static:
            yield chunk.to_record_batch()


def joint_signal(rrd: Path, signal: str) -> tuple[np.ndarray, np.ndarray]:
    """Ticks (T,) and values (T, dof) of ``/joints/<signal>``, sorted by tick."""
    ticks, values = [], []
    for batch in _chunks(Path(rrd), f"/joints/{signal}"):
        ticks.append(batch.column("tick").to_numpy())
        values.extend(batch.column("Scalars:scalars").to_pylist())
    if not ticks:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0))
    ticks = np.concatenate(ticks)
    order = np.argsort(ticks, kind="stable")
    return ticks[order], np.asarray(values, dtype=float)[order]


def text_log(rrd: Path, entity: str = "/events") -> list[tuple[int, str, str]]:
    """(tick, level, text) of every text log entry at ``entity``, sorted by tick."""
    entries = []
    for batch in _chunks(Path(rrd), entity):
        for tick, level, text in zip(
            batch.column("tick").to_pylist(),
            batch.column("TextLog:level").to_pylist(),
            batch.column("TextLog:text").to_pylist(),
            strict=True,
        ):
            entries.append((tick, _first(level), _first(text)))
    return sorted(entries)


def _first(cell):
    """Rerun stores each component as a list per row; a text log row holds one value."""
    return cell[0] if isinstance(cell, list) else cell

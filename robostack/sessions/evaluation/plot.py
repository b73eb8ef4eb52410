"""The evaluation report as a PNG a person can read: success with its interval, and the
robustness curves (for a policy from cameras, a third panel: the cameras moved and blacked
out)."""

from __future__ import annotations

from pathlib import Path


def plot_report(report: dict, path: Path) -> Path:
    """Draw ``report`` (from `robostack.sessions.evaluation.evaluate`) to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    robustness = report["robustness"]
    moved = any(robustness.get(k) for k in ("shift_cm", "turn_deg", "blackout"))
    fig, axes = plt.subplots(1, 3 if moved else 2, figsize=(16 if moved else 11, 4.2))
    left, right = axes[:2]
    rate = report["success_rate"]
    lo, hi = report["success_ci95"]
    left.bar([0], [rate], color="#4c72b0", width=0.5)
    below, above = max(0.0, rate - lo), max(0.0, hi - rate)  # >= 0 despite rounding
    left.errorbar([0], [rate], yerr=[[below], [above]], color="black", capsize=8)
    left.set_xlim(-1, 1)
    left.set_ylim(0, 1.05)
    left.set_xticks([])
    left.set_ylabel("success rate")
    lines = [
        f"{report['successes']}/{report['episodes']} episodes, 95% CI [{lo:.2f}, {hi:.2f}]",
    ]
    if report["mean_time_to_success_s"] is not None:
        lines.append(f"mean time to success {report['mean_time_to_success_s']:.2f} s")
    if report["modes"]:
        lines.append(", ".join(f"{k} {v:.0%}" for k, v in report["modes"].items()))
    if report["diversity_rad"] is not None:
        lines.append(f"chunk diversity {report['diversity_rad']:.3f} rad")
    left.set_xlabel("\n".join(lines), fontsize=8)
    left.set_title(f"{report['policy']} on {report['task']} ({report['robot']})")
    curves = (
        ("mask", "o", "masked dimensions"),
        ("noise", "s", "noised dimensions"),
        ("occlude", "o", "frame area occluded"),
        ("drop", "s", "frames dropped"),
    )
    _curves(right, robustness, curves, x="share")
    right.set_xlabel(
        "share of each frame occluded / of frames dropped"
        if "occlude" in robustness
        else "share of observation dimensions masked / noised"
    )
    right.set_ylabel("success rate")
    right.set_ylim(0, 1.05)
    right.set_title("robustness to partial observations")
    if right.lines:
        right.legend()
    right.grid(alpha=0.3)
    if moved:
        _cameras_panel(axes[2], robustness)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _cameras_panel(axis, robustness: dict) -> None:
    """Success as the cameras move (curves over cm shifted, degrees turned) and with each
    camera blacked out (horizontal lines)."""
    moves = (("shift_cm", "o", "shifted, cm"), ("turn_deg", "s", "turned, °"))
    _curves(axis, robustness, moves, x="amount")
    for k, point in enumerate(robustness.get("blackout", [])):
        axis.axhline(
            point["success_rate"],
            linestyle="--",
            color=f"C{k + 2}",
            label=f"{point['camera']} blacked out",
        )
    axis.set_xlabel("camera moved from its training pose (cm / degrees)")
    axis.set_ylabel("success rate")
    axis.set_ylim(0, 1.05)
    axis.set_title("cameras moved or blacked out")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)


def _curves(axis, robustness: dict, curves: tuple, *, x: str) -> None:
    """Success over ``x`` ("share" or "amount") for each (kind, marker, label) of ``curves``
    the report holds."""
    for kind, marker, label in curves:
        points = robustness.get(kind, [])
        if points:
            axis.plot(
                [p[x] for p in points],
                [p["success_rate"] for p in points],
                marker=marker,
                label=label,
            )

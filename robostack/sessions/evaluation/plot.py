"""The evaluation report as a PNG a person can read: success with its interval, and the
robustness curves."""

from __future__ import annotations

from pathlib import Path


def plot_report(report: dict, path: Path) -> Path:
    """Draw ``report`` (from `robostack.sessions.evaluation.evaluate`) to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
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
    for kind, marker, label in (("mask", "o", "masked"), ("noise", "s", "noised")):
        points = report["robustness"].get(kind, [])
        if points:
            right.plot(
                [p["share"] for p in points],
                [p["success_rate"] for p in points],
                marker=marker,
                label=f"{label} dimensions",
            )
    right.set_xlabel("share of observation dimensions masked / noised")
    right.set_ylabel("success rate")
    right.set_ylim(0, 1.05)
    right.set_title("robustness to partial observations")
    if right.lines:
        right.legend()
    right.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

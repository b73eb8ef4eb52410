"""``robostack tasks``: what ``launch`` can be asked to do, and with which checkpoint."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from robostack.cli.options import add_json
from robostack.core.paths import LAUNCH_FILES

DEFAULT_LAUNCH_FILE = LAUNCH_FILES / "panda_mujoco.toml"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tasks",
        help="list the tasks a goal can name: sentence, scene objects and colours, robots",
        description="Prints each task: its sentence with an example, the objects its scene "
        "has and the colours they come in (a goal may name only these), the robots it runs "
        "on, and the checkpoint the launch file runs it with.",
    )
    p.add_argument("--launch", type=Path, default=DEFAULT_LAUNCH_FILE, help="launch file (TOML)")
    add_json(p)
    p.set_defaults(run=run)


def describe_tasks(launch) -> list[dict]:
    """One dict per task: name, sentence, example, objects (kind -> colours), robots,
    checkpoint (name and folder, whether it is there) and whether ``launch`` runs it."""
    from robostack.launcher.plan import FROM_GOAL, checkpoint_for
    from robostack.sim.tasks import TASKS, make_task

    rows = []
    for name in TASKS:
        task = make_task(name)
        example = {slot: task.slot_values(slot)[0] for slot in task.slot_objects}
        _, checkpoint, path = checkpoint_for(launch, name)
        robot = launch.robot
        runs = (
            launch.session.task in (FROM_GOAL, name)
            and robot.name in task.robots
            and (task.arm_only or not robot.twin)
        )
        rows.append(
            {
                "task": name,
                "sentence": task.template,
                "example": task.template.format(**example),
                "objects": {kind: list(colours) for kind, colours in task.objects.items()},
                "robots": list(task.robots),
                "checkpoint": checkpoint,
                "checkpoint_path": str(path),
                "checkpoint_found": path.is_dir(),
                "runs_with_launch_file": runs,
            }
        )
    return rows


def run(args: argparse.Namespace) -> int:
    from robostack.launcher.launch_file import load_launch_file

    launch = load_launch_file(args.launch)
    rows = describe_tasks(launch)
    if args.json:
        print(json.dumps({"ok": True, "launch_file": str(launch.path), "tasks": rows}))
        return 0
    print(f"tasks, with the checkpoints {launch.path} runs them with:")
    for row in rows:
        print(f'{row["task"]}: "{row["sentence"]}", e.g. "{row["example"]}"')
        scene = "; ".join(
            f"{kind} ({', '.join(colours)})" if colours else kind
            for kind, colours in row["objects"].items()
        )
        print(f"  scene: {scene}")
        print(f"  robots: {', '.join(row['robots'])}")
        found = "" if row["checkpoint_found"] else " (not found)"
        print(f"  checkpoint: {row['checkpoint']} at {row['checkpoint_path']}{found}")
        if not row["runs_with_launch_file"]:
            print(
                f"  not with this launch file (the {launch.robot.name} on {launch.robot.backend})"
            )
    print('e.g. robostack launch "' + rows[0]["example"] + '"')
    return 0

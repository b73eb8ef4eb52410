"""Run by LeRobot's own Python (3.12 with ``lerobot[dataset]``), not by pytest: LeRobot's
`LeRobotDataset` on a robostack dataset. Prints one JSON object with what it found.

    python lerobot_conformance.py OURS WORK

OURS: a dataset robostack wrote (not modified). WORK: an empty folder for copies and for a
dataset LeRobot writes itself (``WORK/written``, same features as OURS, two episodes), which
the test then reads with robostack's reader.
"""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
from lerobot.datasets.aggregate import aggregate_datasets
from lerobot.datasets.lerobot_dataset import LeRobotDataset

ours, work = Path(sys.argv[1]), Path(sys.argv[2])
report = {}

loaded = LeRobotDataset("robostack/ours", root=ours)
report["frames"] = len(loaded)
report["episodes"] = loaded.num_episodes
report["tasks"] = sorted({loaded[i]["task"] for i in range(len(loaded))})
report["stats_keys"] = sorted(loaded.meta.stats["observation.state"])

appended = work / "appended"
shutil.copytree(ours, appended)
resumed = LeRobotDataset.resume("robostack/appended", root=appended)
first = loaded[0]
features = {k: v for k, v in loaded.features.items() if v["dtype"] == "float32"}
vectors = [k for k in features if k != "timestamp"]
for _ in range(3):
    resumed.add_frame({**{k: first[k].numpy() for k in vectors}, "task": "wave at the camera"})
resumed.save_episode()
resumed.finalize()
again = LeRobotDataset("robostack/appended", root=appended)
report["appended_episodes"] = again.num_episodes
report["appended_last_task"] = again[len(again) - 1]["task"]

written = work / "written"
names = {k: loaded.features[k] for k in vectors}
theirs = LeRobotDataset.create(
    "lerobot/written",
    fps=loaded.fps,
    root=written,
    robot_type="panda",
    features=names,
    use_videos=False,
)
rng = np.random.default_rng(0)
for episode, task in enumerate(["reach the red cube", "push the blue cube to the goal"]):
    for _ in range(4 + episode):
        frame = {k: rng.normal(size=v["shape"]).astype(np.float32) for k, v in names.items()}
        theirs.add_frame({**frame, "task": task})
    theirs.save_episode()
theirs.finalize()

aggregate_datasets(
    ["robostack/ours", "lerobot/written"],
    "robostack/merged",
    roots=[ours, written],
    aggr_root=work / "merged",
)
merged = LeRobotDataset("robostack/merged", root=work / "merged")
report["merged_frames"] = len(merged)
report["merged_tasks"] = sorted({merged[i]["task"] for i in range(len(merged))})
print(json.dumps(report))

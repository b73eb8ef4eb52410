"""Run by LeRobot's own Python (3.12 with ``lerobot[dataset]``), not by pytest: LeRobot's
`LeRobotDataset` decodes the camera frames of a robostack dataset.

    python lerobot_video_conformance.py OURS WORK

OURS: a dataset robostack wrote with cameras (not modified). WORK: a folder for the frames
LeRobot decoded, ``WORK/<video key>.npy`` (N, 3, H, W) float32 in [0, 1], in frame order.
Prints one JSON object with what it found.
"""

import json
import sys
from pathlib import Path

import numpy as np
from lerobot.datasets.lerobot_dataset import LeRobotDataset

ours, work = Path(sys.argv[1]), Path(sys.argv[2])
loaded = LeRobotDataset("robostack/cameras", root=ours)
report = {"frames": len(loaded), "video_keys": list(loaded.meta.video_keys), "stats_keys": {}}
for key in loaded.meta.video_keys:
    frames = np.stack([loaded[i][key].numpy() for i in range(len(loaded))])
    np.save(work / f"{key}.npy", frames.astype(np.float32))
    report["stats_keys"][key] = sorted(loaded.meta.stats[key])
print(json.dumps(report))

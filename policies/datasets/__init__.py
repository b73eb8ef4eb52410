"""Demonstration datasets in the LeRobot v3.0 layout: `DatasetWriter`, `read_dataset`."""

from robostack.policies.datasets.lerobot import Dataset, DatasetWriter, read_dataset

__all__ = ["Dataset", "DatasetWriter", "read_dataset"]

"""Policy training, free of simulator imports: `load_training_data` (data.py) and `train`
(trainer.py)."""

from robostack.policies.training.data import TrainingData, load_training_data
from robostack.policies.training.trainer import TrainConfig, TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "TrainingData", "load_training_data", "train"]

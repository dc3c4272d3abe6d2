"""Instruction fine-tuning: bidirectional InfoNCE on same-task MEDI batches, GradCache, LoRA or full.

Example:
    >>> from instructembed.train import load_config, train
    >>> train(load_config("configs/instructembed-mini-cpu.toml"))
"""

from instructembed.train.config import TrainConfig, load_config
from instructembed.train.trainer import TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "load_config", "train"]

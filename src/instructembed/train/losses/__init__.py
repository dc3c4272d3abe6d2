"""Training losses: one per module; `loss_from_embeddings` functions are pure."""

from instructembed.train.losses.bidirectional_infonce import label_masks, loss_from_embeddings
from instructembed.train.losses.grad_cache import backward_batch

__all__ = ["backward_batch", "label_masks", "loss_from_embeddings"]

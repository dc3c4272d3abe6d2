"""Training losses: one per module; `loss_from_embeddings` functions are pure."""

from instructembed.train.losses.base_anchor import anchor_loss, with_base_anchor
from instructembed.train.losses.bidirectional_infonce import label_masks, loss_from_embeddings
from instructembed.train.losses.grad_cache import backward_batch, embed
from instructembed.train.losses.label_supcon import supcon_loss, with_label_supcon

__all__ = ["anchor_loss", "backward_batch", "embed", "label_masks", "loss_from_embeddings", "supcon_loss", "with_base_anchor",
           "with_label_supcon"]

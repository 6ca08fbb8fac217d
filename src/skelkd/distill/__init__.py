"""Knowledge distillation: the part matrix E (Eq. 12-13) and the losses (Eq. 6-11, KL,
global multi-sample contrastive)."""

from .losses import (
           alpha_at,
           global_msc_loss,
           joint_relation_loss,
           kd_kl_loss,
           multi_sample_contrastive,
           part_similarity,
           pmsc_loss,
           present_part_weights,
)
from .part_matrix import (
    PartMatrix,
    occlusion_error_rates,
    occlusion_probability_drops,
    softmax_parts,
)

__all__ = ["PartMatrix", "alpha_at", "global_msc_loss", "joint_relation_loss", "kd_kl_loss",
           "multi_sample_contrastive", "occlusion_error_rates", "occlusion_probability_drops",
           "part_similarity", "pmsc_loss", "present_part_weights", "softmax_parts"]

"""Graph adjacency derived from a layout: ST-GCN's spatial-partition strategy.

Yan et al., "Spatial Temporal Graph Convolutional Networks for Skeleton-Based Action
Recognition", AAAI 2018, Section 3.6: the neighbours of a root joint (hop distance at
most ``max_hop``) are split into three subsets by their distance to the skeleton's
centre: the same as the root's (the root itself included), closer (centripetal), and
further (centrifugal). Each subset's adjacency is normalised by node degree.
"""

from __future__ import annotations

import numpy as np

from .layout import Layout


def hop_distance(layout: Layout, max_hop: int | None = None) -> np.ndarray:
    """(V, V) shortest-path length in bones; ``inf`` beyond ``max_hop`` (or if unreachable)."""
    v = layout.num_joints
    adj = np.eye(v, dtype=bool)
    for i, j in layout.edges:
        adj[i, j] = adj[j, i] = True
    dist = np.full((v, v), np.inf)
    reach = np.eye(v, dtype=bool)
    step = np.eye(v, dtype=bool)
    dist[reach] = 0
    hop = 0
    while True:
        hop += 1
        if max_hop is not None and hop > max_hop:
            break
        step = (step.astype(np.int64) @ adj.astype(np.int64)) > 0
        new = step & ~reach
        if not new.any():
            break
        dist[new] = hop
        reach |= new
    return dist


def spatial_partition(layout: Layout, max_hop: int = 1) -> np.ndarray:
    """(3, V, V) float32 adjacency of ST-GCN's spatial partition, column-normalised.

    ``A[k, j, i]`` weights the message from joint ``j`` to root joint ``i`` in subset
    ``k`` (0: same distance to the centre as the root, 1: closer, 2: further), so a graph
    convolution is ``x_out[..., i] = sum_k sum_j x[..., j] A[k, j, i]``.
    """
    hop = hop_distance(layout, max_hop)
    within = np.isfinite(hop).astype(np.float64)
    degree = within.sum(axis=0)
    norm = within / degree[None, :]  # A D^-1, as ST-GCN normalises
    to_center = hop_distance(layout)[:, layout.center_index]
    out = np.zeros((3, layout.num_joints, layout.num_joints), dtype=np.float32)
    for i in range(layout.num_joints):
        for j in range(layout.num_joints):
            if not within[j, i]:
                continue
            if to_center[j] == to_center[i]:
                out[0, j, i] = norm[j, i]
            elif to_center[j] < to_center[i]:
                out[1, j, i] = norm[j, i]
            else:
                out[2, j, i] = norm[j, i]
    return out

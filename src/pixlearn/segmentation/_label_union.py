"""Vectorised union-find for connected-component labelling (NumPy, CPU).

Nodes are numbered ``0..n-1`` so that the node wanted as the root of a component is its
smallest one. Two steps, both without a Python loop over nodes:

- :func:`_sweep_roots`: a forest in which every node hangs from a node of the level before
  (the row or strip above) is resolved level by level, ``root = root[parent]`` on one slice
  per level, since the parents are final when their level is done.
- :func:`_merge_trees`: the links still joining two different trees are merged by hooking,
  ``p[max root] = min root``, and pointer jumping until no link joins two roots
  (Shiloach-Vishkin).
"""

from __future__ import annotations

import itertools

import numpy as np

__all__: list[str] = []

# sweep level by level when levels hold this many nodes on average, else pointer jumping
_NODES_PER_LEVEL = 16


def _compress(parent: np.ndarray, active: np.ndarray) -> None:
    """Pointer jumping in place until every node of ``active`` points at its root."""
    while active.size:
        p = parent[active]
        grand = parent[p]
        parent[active] = grand
        active = active[grand != p]  # a node whose grandparent is its parent is done


def _sweep_roots(parent: np.ndarray, bounds: list[int]) -> None:
    """Replace ``parent`` (intp) in place by the root of each node.

    Level ``i`` holds the nodes ``bounds[i]:bounds[i + 1]``; a node's parent is itself or a
    node of an earlier level. Few nodes per level (thin images) take pointer jumping instead.
    """
    levels = len(bounds) - 1
    if levels * _NODES_PER_LEVEL > parent.size:
        _compress(parent, np.flatnonzero(parent != np.arange(parent.size)))
        return
    for lo, hi in itertools.pairwise(bounds[1:]):  # level 0 has no parents
        # parents lie in finished levels (or are the node itself): one gather per level
        parent[lo:hi] = parent[parent[lo:hi]]


def _merge_trees(u: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """Smallest node of the component of each node ``0..n-1`` under the links ``(u, v)``.

    Returns an intp array ``rep`` of shape ``(n,)``; nodes without links map to themselves.
    """
    rep = np.arange(n)
    live = u != v
    if not live.any():
        return rep
    u, v = u[live], v[live]
    touched = np.zeros(n, dtype=bool)
    touched[u] = True
    touched[v] = True
    nodes = np.flatnonzero(touched)  # (N,) sorted, so the order of the nodes is kept
    compact = np.empty(n, dtype=np.intp)
    compact[nodes] = np.arange(nodes.size)
    su, sv = compact[u], compact[v]  # (M,) links between compact ids
    p = np.arange(nodes.size)  # (N,) every node is a root
    while su.size:
        pu, pv = p[su], p[sv]  # roots of both ends (p is compressed)
        live = pu != pv
        su, sv, pu, pv = su[live], sv[live], pu[live], pv[live]
        # hook: p[max root] = a smaller root it is linked to (any one: no cycle can form,
        # and the smallest node of a component is never hooked, so it ends as the root)
        p[np.maximum(pu, pv)] = np.minimum(pu, pv)
        _compress(p, np.flatnonzero(p != np.arange(p.size)))
    rep[nodes] = nodes[p]
    return rep

"""The SecAgg+ neighbour graph: who masks with whom, derived from public round data only.

The round's clients are ordered by SHA-256(job ‖ round ‖ id) — a permutation nobody picks — and
placed on a ring; each client is joined to the degree/2 nearest on either side (a Harary graph:
degree-regular and degree-connected, so removing fewer than `degree` clients never splits it).
Every party computes the same graph from the same job, round and client list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from ..errors import InputError

Graph = Mapping[int, frozenset[int]]


def neighbour_graph(job_id: bytes, round: int, clients: Iterable[int], degree: int) -> dict[int, frozenset[int]]:
    ids = sorted(set(clients))
    if degree < 1:
        raise InputError(f"degree must be >= 1, got {degree}")
    n = len(ids)
    if n < 2:
        raise InputError("a round needs at least 2 clients")
    prefix = b"zkagg/v1/graph" + job_id + round.to_bytes(8, "big")
    ring = sorted(ids, key=lambda c: hashlib.sha256(prefix + c.to_bytes(4, "big")).digest())
    if degree >= n - 1:
        return {c: frozenset(ids) - {c} for c in ids}
    half = (degree + 1) // 2
    graph: dict[int, set[int]] = {c: set() for c in ids}
    for i, c in enumerate(ring):
        for step in range(1, half + 1):
            other = ring[(i + step) % n]
            graph[c].add(other)
            graph[other].add(c)
    return {c: frozenset(vs) for c, vs in graph.items()}


def is_connected(graph: Graph, members: Iterable[int]) -> bool:
    """Whether the subgraph induced by `members` is connected (an empty or single set is)."""
    nodes = set(members)
    if len(nodes) <= 1:
        return True
    start = next(iter(nodes))
    seen, stack = {start}, [start]
    while stack:
        for other in graph[stack.pop()] & nodes:
            if other not in seen:
                seen.add(other)
                stack.append(other)
    return seen == nodes

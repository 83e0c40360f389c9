"""Binary Poseidon Merkle trees: node = poseidon_hash([left, right]) (circomlib's Poseidon(2)).

The leaves are padded with zeros to the next power of two (at least 2); a tree of one leaf has
depth 1. Paths list the siblings from the leaf upwards; bit i of the leaf index says whether the
node at level i is a right child (1) or a left child (0).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import InputError, LengthError
from . import poseidon_hash_many
from .reference import check_canonical


def _levels(leaves: Sequence[int]) -> list[list[int]]:
    level = check_canonical(leaves, "leaves")
    if not level:
        raise LengthError("a Merkle tree needs at least one leaf")
    size = max(2, 1 << (len(level) - 1).bit_length())
    level = level + [0] * (size - len(level))
    levels = [level]
    while len(level) > 1:
        level = poseidon_hash_many([level[i : i + 2] for i in range(0, len(level), 2)])
        levels.append(level)
    return levels


def merkle_root(leaves: Sequence[int]) -> int:
    return _levels(leaves)[-1][0]


def merkle_path(leaves: Sequence[int], index: int) -> list[int]:
    """The siblings of leaf `index`, bottom-up."""
    levels = _levels(leaves)
    if not isinstance(index, int) or not 0 <= index < len(leaves):
        raise InputError(f"index must be in [0, {len(leaves)}), not {index!r}")
    path = []
    for level in levels[:-1]:
        path.append(level[index ^ 1])
        index >>= 1
    return path


def merkle_paths(leaves: Sequence[int]) -> list[list[int]]:
    """The path of every leaf, from one tree (merkle_path builds the tree for each call)."""
    levels = _levels(leaves)
    return [[level[(i >> h) ^ 1] for h, level in enumerate(levels[:-1])] for i in range(len(leaves))]


def root_from_path(leaf: int, index: int, path: Sequence[int]) -> int:
    """The root a leaf and its path lead to (what the circuit gadget computes)."""
    node = leaf
    for sibling in path:
        pair = [sibling, node] if index & 1 else [node, sibling]
        node = poseidon_hash_many([pair])[0]
        index >>= 1
    return node

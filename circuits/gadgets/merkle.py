"""Poseidon Merkle path: the root reached from a leaf, its index bits and its siblings.

Matches zkagg.poseidon.merkle (node = Poseidon(left, right), circomlib's Poseidon(2)).
Cost per level: 1 (index bit boolean) + 1 (ordering the pair) + 240 (Poseidon, t = 3).
Preconditions: none on the values; the index bits are constrained boolean here.
"""

from __future__ import annotations

from collections.abc import Sequence

from zkagg.circuit import API, Var
from zkagg.circuit.var import as_var

from .poseidon import poseidon_hash


def merkle_root(api: API, leaf: Var | int, index_bits: Sequence[Var], siblings: Sequence[Var | int]) -> Var:
    """Root of the path; index_bits[i] = 1 when the node at level i is a right child."""
    if len(index_bits) != len(siblings):
        raise ValueError("one index bit per sibling")
    node = as_var(leaf)
    with api.scope("merkle"):
        for bit, sibling in zip(index_bits, siblings):
            api.assert_bool(bit)
            s = as_var(sibling)
            swap = api.mul(bit, s - node)  # bit ? (sibling, node) : (node, sibling)
            node = poseidon_hash(api, [node + swap, s - swap])
    return node

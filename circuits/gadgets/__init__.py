"""Reusable constraint gadgets; each documents its preconditions and its constraint count."""

from .bits import range_check, to_bits
from .merkle import merkle_root
from .poseidon import permute, poseidon_hash, sponge
from .select import select

__all__ = ["merkle_root", "permute", "poseidon_hash", "range_check", "select", "sponge", "to_bits"]

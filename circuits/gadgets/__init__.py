"""Reusable constraint gadgets; each documents its preconditions and its constraint count."""

from .bits import range_check, to_bits
from .select import select

__all__ = ["range_check", "select", "to_bits"]

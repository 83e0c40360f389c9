"""Hypothesis strategies seeded with the edge values where field and curve code breaks."""

from __future__ import annotations

from hypothesis import strategies as st

from zkagg.bn254 import FR_MODULUS

R = FR_MODULUS
EDGES = sorted(
    {0, 1, 2, R - 1, R - 2, (R - 1) // 2, (R + 1) // 2}
    | {v for k in (63, 64, 128, 192, 253) for v in (2**k - 1, 2**k, 2**k + 1) if v < R}
)

fr = st.one_of(st.sampled_from(EDGES), st.integers(0, R - 1))
fr_nonzero = fr.filter(lambda v: v != 0)


def fr_lists(min_size: int = 0, max_size: int = 16) -> st.SearchStrategy[list[int]]:
    return st.lists(fr, min_size=min_size, max_size=max_size)

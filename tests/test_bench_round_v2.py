"""The v2 benchmark's chunking and constraint rows (cheap parts only: no proving here)."""

from __future__ import annotations

import pytest
from zkagg.circuits.chunk_v2 import n_constraints

from zkagg.bench.round_v2 import RESNET_ELEMENTS, chunking, constraints_rows


@pytest.mark.parametrize("k,log_domain", [(1, 19), (11_112, 19), (12_500, 19), (40_000, 19),
                                         (RESNET_ELEMENTS, 23), (RESNET_ELEMENTS, 22)])
def test_chunks_fit_the_domain_and_cover_the_vector(k: int, log_domain: int) -> None:
    shape = chunking(k, log_domain)
    assert n_constraints(shape.chunk_len) + 4 <= 1 << log_domain  # 3 public inputs + the one
    assert shape.n_chunks * shape.chunk_len >= k and shape.chunk_len % 16 == 0
    assert (shape.n_chunks - 1) * shape.chunk_len < k  # no empty chunk


def test_resnet_chunking_matches_the_design_note() -> None:
    assert chunking(RESNET_ELEMENTS, 23).n_chunks == 7
    assert chunking(RESNET_ELEMENTS, 22).n_chunks == 14


def test_constraints_per_parameter_do_not_grow_with_n() -> None:
    rows = constraints_rows()
    assert [r["n"] for r in rows] == [4, 8, 16, 64]
    assert all(r["constraints_per_param"] <= 5 for r in rows)
    # only the packing factor (9 or 8 values per element) moves it, never n itself
    assert {r["constraints_per_param"] for r in rows if r["per_element"] == 8} == {4.911}

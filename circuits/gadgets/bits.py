"""Bit decomposition and range checks."""

from __future__ import annotations

from zkagg.circuit import API, Var
from zkagg.circuit.var import as_var
from zkagg.errors import CircuitError

#: below r's 254 bits, so a decomposition is unique (no aliasing x + r)
MAX_BITS = 253


def to_bits(api: API, x: Var | int, n: int) -> list[Var]:
    """The n low-to-high bits of x, constrained: each bit is boolean and sum(b_i 2^i) = x.
    Unsatisfiable unless 0 <= x < 2^n. Requires n <= 253. Costs n + 1 constraints."""
    if not 0 < n <= MAX_BITS:
        raise CircuitError(f"to_bits needs 0 < n <= {MAX_BITS}, not {n}")
    x = as_var(x)
    with api.scope("to_bits"):
        bits = api.hint(lambda v: [(v[0] >> i) & 1 for i in range(n)], [x], n)
        for b in bits:
            api.assert_bool(b)
        api.assert_equal(sum((b * (1 << i) for i, b in enumerate(bits)), Var({})), x)
    return bits


def range_check(api: API, x: Var | int, n: int) -> None:
    """Constrain 0 <= x < 2^n (n <= 253). Costs n + 1 constraints."""
    to_bits(api, x, n)

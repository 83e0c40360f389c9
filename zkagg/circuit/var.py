"""Variables of a circuit: linear combinations of wires over F_r.

Wire 0 is the constant one, so a constant c is {0: c}. Sums and products with constants are free
(no constraint); only a product of two non-constant variables costs one R1CS constraint, and that
goes through the engine (`api.mul`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..bn254.constants import FR_MODULUS

R = FR_MODULUS


class Var:
    """A linear combination sum(coeff * wire). Immutable; supports +, -, and * by an int."""

    __slots__ = ("terms",)

    def __init__(self, terms: dict[int, int]) -> None:
        self.terms = terms

    @staticmethod
    def constant(value: int) -> Var:
        value %= R
        return Var({0: value} if value else {})

    @staticmethod
    def wire(index: int) -> Var:
        return Var({index: 1})

    @staticmethod
    def combine(coeffs: Sequence[int], vars: Sequence[Var]) -> Var:
        """sum(c_i * v_i) in one pass (linear layers would otherwise build many temporaries)."""
        acc: dict[int, int] = {}
        for k, v in zip(coeffs, vars):
            for w, c in v.terms.items():
                acc[w] = acc.get(w, 0) + k * c
        return Var({w: c % R for w, c in acc.items() if c % R})

    def is_constant(self) -> bool:
        return all(w == 0 for w in self.terms)

    @property
    def const(self) -> int:
        """The constant term."""
        return self.terms.get(0, 0)

    def __add__(self, other: Var | int) -> Var:
        o = as_var(other)
        if len(o.terms) > len(self.terms):
            return o + self
        terms = dict(self.terms)
        for w, c in o.terms.items():
            v = (terms.get(w, 0) + c) % R
            if v:
                terms[w] = v
            else:
                terms.pop(w, None)
        return Var(terms)

    __radd__ = __add__

    def __neg__(self) -> Var:
        return Var({w: R - c for w, c in self.terms.items()})

    def __sub__(self, other: Var | int) -> Var:
        return self + (-as_var(other))

    def __rsub__(self, other: Var | int) -> Var:
        return as_var(other) + (-self)

    def __mul__(self, k: int) -> Var:
        if not isinstance(k, int):
            raise TypeError("a Var times a Var needs api.mul (it costs a constraint)")
        k %= R
        if not k:
            return Var({})
        return Var({w: c * k % R for w, c in self.terms.items()})

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return " + ".join(f"{c}*w{w}" if w else str(c) for w, c in sorted(self.terms.items())) or "0"


def as_var(x: Var | int) -> Var:
    if isinstance(x, Var):
        return x
    if isinstance(x, int) and not isinstance(x, bool):
        return Var.constant(x)
    raise TypeError(f"expected a Var or an int, not {type(x).__name__}")

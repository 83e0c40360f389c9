"""The circuit layer: one define, three engines that agree; labels; malformed circuits."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st
from zkagg.circuits.gadgets import range_check, select, to_bits

from zkagg.bn254 import FrArray
from zkagg.circuit import API, Circuit, Input, Var, compile_r1cs, count, evaluate, public, secret
from zkagg.errors import CircuitError, NonCanonicalError, UnsatisfiedConstraintError

from .harness import check_circuit
from .strategies import R, fr


@dataclass
class Poly(Circuit):
    """y = x^3 + x + 5 with x secret."""

    x: Input = secret()
    y: Input = public()

    def define(self, api: API) -> None:
        with api.scope("poly"):
            x2 = api.mul(self.x, self.x)
            api.assert_mul(x2, self.x, self.y - self.x - 5)


@dataclass
class Vectors(Circuit):
    """Public sum and inner product of two secret vectors of length n."""

    n: int = 3
    a: Input = secret([0, 0, 0])
    b: Input = secret([0, 0, 0])
    total: Input = public()
    dot: Input = public()

    def define(self, api: API) -> None:
        api.assert_equal(sum(self.a, Var({})) + sum(self.b, Var({})), self.total)
        with api.scope("dot"):
            api.assert_equal(sum((api.mul(x, y) for x, y in zip(self.a, self.b)), Var({})), self.dot)


def vectors(a: list[int], b: list[int]) -> Vectors:
    return Vectors(len(a), a, b, (sum(a) + sum(b)) % R, sum(x * y for x, y in zip(a, b)) % R)


def test_poly_valid_and_invalid() -> None:
    check_circuit([Poly(3, 35), Poly(0, 5), Poly(R - 1, 3)],
                  [Poly(3, 36)], expect_label="poly")


def test_engines_agree_on_wires_and_constraints() -> None:
    c = vectors([1, 2, 3], [4, 5, 6])
    z = evaluate(c)
    r1cs = compile_r1cs(c)
    assert len(z) == r1cs.n_wires and r1cs.n_public == 2 and z[1:3] == [21, 32]
    assert r1cs.first_unsatisfied(FrArray.from_ints(z)) == -1
    assert count(c).n_constraints == r1cs.n_constraints == 1 + 3 + 1
    assert count(c).by_label == {"": 1, "dot": 4}
    bad = list(z)
    bad[-1] = (bad[-1] + 1) % R
    assert r1cs.label(r1cs.first_unsatisfied(FrArray.from_ints(bad))) == "dot"


@given(a=st.lists(fr, min_size=3, max_size=3), b=st.lists(fr, min_size=3, max_size=3))
def test_evaluator_matches_the_r1cs(a: list[int], b: list[int]) -> None:
    c = vectors(a, b)
    assert compile_r1cs(c).first_unsatisfied(FrArray.from_ints(evaluate(c))) == -1


def test_linear_combinations_are_free() -> None:
    @dataclass
    class Linear(Circuit):
        x: Input = secret()
        y: Input = public()

        def define(self, api: API) -> None:
            api.assert_equal(api.mul(self.x * 3 + 7, 2) - self.x, self.y)

    assert count(Linear()).n_constraints == 1
    assert evaluate(Linear(4, 34))[1] == 34


def test_malformed_circuits_and_inputs() -> None:
    with pytest.raises(NonCanonicalError, match="input x"):
        evaluate(Poly(R, 0))
    with pytest.raises(CircuitError, match="must be an int"):
        evaluate(Poly("3", 0))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="api.mul"):
        Var.wire(1) * Var.wire(2)  # type: ignore[operator]

    @dataclass
    class FalseConstant(Circuit):
        def define(self, api: API) -> None:
            api.assert_equal(2, 3)

    with pytest.raises(UnsatisfiedConstraintError):
        compile_r1cs(FalseConstant())


@dataclass
class Bits(Circuit):
    x: Input = secret()
    bit3: Input = public()
    n: int = 8

    def define(self, api: API) -> None:
        api.assert_equal(to_bits(api, self.x, self.n)[3], self.bit3)


@dataclass
class Range(Circuit):
    x: Input = public()
    n: int = 16

    def define(self, api: API) -> None:
        range_check(api, self.x, self.n)


@dataclass
class Select(Circuit):
    c: Input = secret()
    a: Input = secret()
    b: Input = secret()
    out: Input = public()

    def define(self, api: API) -> None:
        api.assert_bool(self.c)
        api.assert_equal(select(api, self.c, self.a, self.b), self.out)


def test_bits_gadget() -> None:
    check_circuit([Bits(0b1000, 1), Bits(255, 1), Bits(0, 0)], [Bits(256, 0), Bits(R - 1, 0)],
                  expect_label="to_bits")
    check_circuit([Bits(8, 1)], [Bits(8, 0)])


def test_range_check_gadget_and_its_edges() -> None:
    check_circuit([Range(0), Range(2**16 - 1)], [Range(2**16), Range(R - 1)], expect_label="to_bits")
    with pytest.raises(CircuitError):
        count(Range(n=254))


def test_select_gadget() -> None:
    check_circuit([Select(1, 5, 9, 5), Select(0, 5, 9, 9)], [Select(1, 5, 9, 9), Select(2, 5, 9, 1)])


def test_golden_constraint_counts() -> None:
    """Pinned so that a change in a gadget's cost shows up in review."""
    assert count(Bits()).n_constraints == 8 + 1 + 1
    assert count(Range()).n_constraints == 16 + 1
    assert count(Select()).n_constraints == 1 + 1 + 1
    assert count(Poly()).n_constraints == 2

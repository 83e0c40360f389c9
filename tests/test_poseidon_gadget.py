"""The Poseidon gadgets against the reference hash, templates against direct gadgets, and the
pinned constraint counts."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zkagg.circuits.gadgets import permute, poseidon_hash, sponge

from zkagg.bn254 import FrArray
from zkagg.circuit import API, Circuit, Input, Var, compile_r1cs, count, evaluate, public, secret
from zkagg.circuit.template import Template
from zkagg.errors import CircuitError, UnsatisfiedConstraintError
from zkagg.poseidon.reference import permute as ref_permute
from zkagg.poseidon.reference import poseidon_hash as ref_hash
from zkagg.poseidon.reference import sponge as ref_sponge

from .harness import check_circuit
from .strategies import R, fr


@dataclass
class Hash(Circuit):
    xs: Input = secret([0, 0])
    h: Input = public()

    def define(self, api: API) -> None:
        api.assert_equal(poseidon_hash(api, self.xs), self.h)


@dataclass
class Permutation(Circuit):
    state: Input = secret([0] * 17)
    out0: Input = public()

    def define(self, api: API) -> None:
        api.assert_equal(permute(api, self.state)[0], self.out0)


@dataclass
class Sponge(Circuit):
    xs: Input = secret([])
    h: Input = public()
    width: int = 17

    def define(self, api: API) -> None:
        api.assert_equal(sponge(api, self.xs, self.width), self.h)


def hashed(xs: list[int], width: int = 17) -> Sponge:
    return Sponge(xs, ref_sponge(xs, width), width)


def test_hash_matches_circomlib_vector() -> None:
    # circomlibjs poseidon([1, 2]), the value circomlib's own tests use
    assert evaluate(Hash([1, 2], 7853200120776062878684798364095072458815029376092732009249414926327459813530))
    check_circuit([Hash([1, 2], ref_hash([1, 2])), Hash([0, R - 1], ref_hash([0, R - 1]))],
                  [Hash([1, 2], ref_hash([2, 1]))])


@settings(max_examples=5)
@given(state=st.lists(fr, min_size=17, max_size=17))
def test_permutation_matches_reference(state: list[int]) -> None:
    assert evaluate(Permutation(state, ref_permute(state)[0]))


@pytest.mark.parametrize("length", [0, 1, 15, 16, 17, 33])
@pytest.mark.parametrize("width", [3, 17])
def test_sponge_matches_reference_and_r1cs(length: int, width: int) -> None:
    xs = [random.Random(length).randrange(R) for _ in range(length)]
    c = hashed(xs, width)
    z = FrArray.from_ints(evaluate(c))
    assert compile_r1cs(c).first_unsatisfied(z) == -1
    with pytest.raises(UnsatisfiedConstraintError):
        evaluate(Sponge(xs, (c.h + 1) % R, width))


def test_sponge_proves_and_rejects_a_wrong_hash() -> None:
    xs = list(range(20))
    check_circuit([hashed(xs)], [Sponge(xs, ref_sponge(xs[:-1] + [0]))])


def test_golden_constraint_counts() -> None:
    """Pinned: a change in these costs must show up in review."""
    assert count(Hash()).n_constraints == 243 - 3 + 1  # t = 3; the S-box of the zero capacity is free
    assert count(Permutation()).n_constraints == 612 + 1  # t = 17
    per_block = 612  # each template instance, the constant first one included
    for length, blocks in ((0, 1), (16, 1), (17, 2), (160, 10)):
        assert count(hashed([0] * length)).n_constraints == blocks * per_block + 1


def test_template_replay_equals_a_direct_call() -> None:
    def gadget(api: API, ins: list[Var]) -> list[Var]:
        x, y = ins
        p = api.mul(x, y)
        return [p + x, api.mul(p, p)]

    tpl = Template("toy", 2, gadget)

    @dataclass
    class Use(Circuit):
        a: Input = secret()
        b: Input = secret()
        out: Input = public()
        via_template: bool = True

        def define(self, api: API) -> None:
            ins = [self.a, self.b * 3 + 1]  # the second input is materialized as a wire
            o = api.template(tpl, ins) if self.via_template else gadget(api, ins)
            o2 = api.template(tpl, [o[1], 5]) if self.via_template else gadget(api, [o[1], 5])
            api.assert_equal(o2[0] + o[0], self.out)

    a, b = 7, 11
    p = a * (3 * b + 1)
    p2 = p * p * 5
    out = (p2 + p * p + p + a) % R
    assert evaluate(Use(a, b, out))[-1] == evaluate(Use(a, b, out, False))[-1]
    r = compile_r1cs(Use(a, b, out))
    assert r.first_unsatisfied(FrArray.from_ints(evaluate(Use(a, b, out)))) == -1
    assert count(Use()).n_constraints == r.n_constraints == 1 + 2 + 2 + 1
    with pytest.raises(UnsatisfiedConstraintError):
        evaluate(Use(a, b, out + 1))
    with pytest.raises(CircuitError, match="takes 2 inputs"):
        count(type("Bad", (Use,), {"define": lambda self, api: api.template(tpl, [self.a])})())


@dataclass
class MerklePath(Circuit):
    leaf: Input = secret()
    bits: Input = secret([0, 0, 0])
    siblings: Input = secret([0, 0, 0])
    root: Input = public()

    def define(self, api: API) -> None:
        from zkagg.circuits.gadgets import merkle_root

        api.assert_equal(merkle_root(api, self.leaf, self.bits, self.siblings), self.root)


def test_merkle_path_gadget_matches_the_tree() -> None:
    from zkagg.poseidon.merkle import merkle_path, merkle_root, root_from_path

    leaves = [random.Random(5).randrange(R) for _ in range(7)]
    root = merkle_root(leaves)
    valid, invalid = [], []
    for index in (0, 3, 6):
        path = merkle_path(leaves, index)
        bits = [(index >> i) & 1 for i in range(3)]
        assert root_from_path(leaves[index], index, path) == root
        valid.append(MerklePath(leaves[index], bits, path, root))
        invalid.append(MerklePath(leaves[index], [b ^ 1 for b in bits], path, root))  # wrong position
        invalid.append(MerklePath((leaves[index] + 1) % R, bits, path, root))  # wrong leaf
    invalid.append(MerklePath(leaves[0], [2, 0, 0], merkle_path(leaves, 0), root))  # non-boolean bit
    check_circuit(valid[:1], invalid[:2])
    for c in valid[1:]:
        assert evaluate(c)
    for c in invalid[2:]:
        with pytest.raises(UnsatisfiedConstraintError):
            evaluate(c)
    assert count(MerklePath()).n_constraints == 3 * (1 + 1 + 240) + 1

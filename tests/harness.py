"""One harness for circuits (gnark's CheckCircuit): every valid assignment evaluates, proves and
verifies; every invalid one is rejected by the evaluator with a labelled constraint and by the
prover, which makes no proof from it."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from zkagg.circuit import Circuit, Var, compile_r1cs, count, evaluate
from zkagg.circuit.engines import Evaluator
from zkagg.errors import UnsatisfiedConstraintError
from zkagg.groth16 import insecure_single_party_setup, prove, verify


class LenientEvaluator(Evaluator):
    """Computes wires like the evaluator but skips the checks: the witness a cheater submits."""

    def _emit(self, a: Var, b: Var, c: Var) -> None:
        self.n_constraints += 1


def cheating_witness(c: Circuit) -> list[int]:
    ev = LenientEvaluator()
    ev.bind(c).define(ev)
    return ev.values


def check_circuit(valid: Sequence[Circuit], invalid: Sequence[Circuit] = (),
                  expect_label: str | None = None) -> None:
    r1cs = compile_r1cs(valid[0])
    assert count(valid[0]).n_constraints == r1cs.n_constraints
    for c in invalid:
        with pytest.raises(UnsatisfiedConstraintError) as info:
            evaluate(c)
        if expect_label is not None:
            assert expect_label in info.value.label
    rng = random.Random(1)
    pk = insecure_single_party_setup(r1cs, rng)
    for c in valid:
        z = evaluate(c)
        proof = prove(pk, r1cs, z, rng)
        assert verify(pk.vk, z[1 : r1cs.n_public + 1], proof)
    for c in invalid:
        with pytest.raises(UnsatisfiedConstraintError):
            prove(pk, r1cs, cheating_witness(c), rng)

"""The v2 chunk circuit (circuits/chunk_v2.py): golden constraint counts, the closed form
against the builder, witnesses, and the named constraint a wrong z, e or h fails."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zkagg.circuits.chunk_v2 import chunk_circuit, horner_template, horner_trace, n_constraints

from zkagg import kzg
from zkagg.bn254 import FrArray
from zkagg.circuit import compile_r1cs, count, evaluate
from zkagg.errors import InputError, LengthError, UnsatisfiedConstraintError
from zkagg.poseidon import poseidon_sponge

R = kzg.R

#: pinned: a change in the circuit shows here in review
GOLDEN = {1: 630, 16: 630, 17: 1258, 100: 4398, 1024: 40194, 11112: 436462}


def _assignment(values: list[int], z: int) -> dict[str, object]:
    arr = FrArray.from_ints(values)
    return {"z": z, "e": kzg.evaluate(arr, z), "h": poseidon_sponge(arr), "s": values}


@pytest.mark.parametrize("chunk_len", sorted(GOLDEN))
def test_golden_counts(chunk_len: int) -> None:
    assert n_constraints(chunk_len) == GOLDEN[chunk_len]
    assert count(chunk_circuit(chunk_len)).n_constraints == GOLDEN[chunk_len]


def test_per_element_cost_is_39_25_asymptotically() -> None:
    assert n_constraints(16 * 1000) / (16 * 1000) == pytest.approx(39.25, abs=0.001)


@given(chunk_len=st.integers(1, 70))
@settings(max_examples=25)
def test_closed_form_matches_builder(chunk_len: int) -> None:
    r1cs = compile_r1cs(chunk_circuit(chunk_len))
    assert r1cs.a.n_rows == n_constraints(chunk_len)
    assert r1cs.n_public == 3


@given(values=st.lists(st.integers(0, R - 1), min_size=1, max_size=40), z=st.integers(0, R - 1))
@settings(max_examples=25)
def test_honest_witness_satisfies_the_r1cs(values: list[int], z: int) -> None:
    circ = chunk_circuit(len(values), **_assignment(values, z))  # type: ignore[arg-type]
    w = evaluate(circ)
    r1cs = compile_r1cs(chunk_circuit(len(values)))
    rows = r1cs.rows(FrArray.from_ints(w))
    assert r1cs.first_failing_row(*rows) < 0
    assert w[1:4] == [z, circ.e, circ.h]


@pytest.mark.parametrize("field,label", [("e", "evaluation"), ("h", "digest"), ("z", "evaluation")])
def test_wrong_public_input_names_its_constraint(field: str, label: str) -> None:
    rng = random.Random(1)
    values = [rng.randrange(R) for _ in range(33)]
    a = _assignment(values, rng.randrange(R))
    a[field] = (a[field] + 1) % R  # type: ignore[operator]
    with pytest.raises(UnsatisfiedConstraintError) as err:
        evaluate(chunk_circuit(33, **a))  # type: ignore[arg-type]
    assert err.value.label == label


def test_one_changed_element_fails() -> None:
    rng = random.Random(2)
    values = [rng.randrange(R) for _ in range(20)]
    a = _assignment(values, 5)
    a["s"] = values[:7] + [(values[7] + 1) % R] + values[8:]
    with pytest.raises(UnsatisfiedConstraintError) as err:
        evaluate(chunk_circuit(20, **a))  # type: ignore[arg-type]
    assert err.value.label == "digest"


def test_horner_trace_matches_recorded_template() -> None:
    """The fast trace gives the same wires as running the gadget (the evaluator trusts it)."""
    rng = random.Random(3)
    tpl = horner_template()
    ins = [rng.randrange(R) for _ in range(tpl.n_inputs)]
    from zkagg.circuit.engines import Evaluator
    from zkagg.circuit.var import Var

    ev = Evaluator()
    ev.values.extend(ins)
    ev.n_wires += len(ins)
    tpl.fn(ev, [Var.wire(1 + i) for i in range(len(ins))])
    assert ev.values[1 + len(ins) :] == horner_trace(ins)


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(InputError):
        n_constraints(0)
    with pytest.raises(LengthError):
        chunk_circuit(4, s=[1, 2, 3])

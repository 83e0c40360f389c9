"""BlockR1CS (zkagg.circuit.blocks): the same rows and labels as the concatenated R1CS, proofs
made with it verify, and it holds far fewer bytes for template-heavy circuits."""

from __future__ import annotations

import random

import pytest
from zkagg.circuits.aggregation import ChunkCircuit
from zkagg.circuits.chunk_v2 import chunk_circuit

from zkagg import kzg
from zkagg.bn254 import FrArray
from zkagg.circuit import compile_r1cs, evaluate
from zkagg.circuit.blocks import compile_blocks
from zkagg.errors import LengthError, UnsatisfiedConstraintError
from zkagg.groth16 import insecure_single_party_setup, prove, verify
from zkagg.poseidon import poseidon_sponge

R = kzg.R


def _witness(length: int, rng: random.Random) -> list[int]:
    s = [rng.randrange(R) for _ in range(length)]
    z = rng.randrange(R)
    arr = FrArray.from_ints(s)
    return evaluate(chunk_circuit(length, z, kzg.evaluate(arr, z), poseidon_sponge(arr), s))


@pytest.mark.parametrize("length", [1, 16, 37])
def test_rows_and_labels_match_the_concatenated_r1cs(length: int) -> None:
    full, blocks = compile_r1cs(chunk_circuit(length)), compile_blocks(chunk_circuit(length))
    assert (blocks.n_wires, blocks.n_public, blocks.n_constraints) == (full.n_wires, full.n_public, full.n_constraints)
    w = FrArray.from_ints(_witness(length, random.Random(length)))
    assert blocks.rows(w) == full.rows(w)
    assert [blocks.label(i) for i in range(0, full.n_constraints, 7)] == [full.label(i) for i in range(0, full.n_constraints, 7)]
    m = blocks.materialize()
    for k in "abc":
        x, y = getattr(m, k), getattr(full, k)
        assert (x.row_ptr == y.row_ptr).all() and (x.cols == y.cols).all() and (x.coeffs == y.coeffs).all()


def test_a_circuit_with_rows_outside_templates() -> None:
    """The old chunk circuit mixes row-by-row constraints (Merkle, bits) with templates."""
    circ = ChunkCircuit(n=2, chunk_len=3, depth=2, commitments=[0, 0], weights=[0, 0],
                        slots=[[0] * 3, [0] * 3], paths=[[0] * 2, [0] * 2])
    full, blocks = compile_r1cs(circ), compile_blocks(circ)
    assert blocks.n_constraints == full.n_constraints
    assert [blocks.label(i) for i in range(full.n_constraints)] == [full.label(i) for i in range(full.n_constraints)]
    assert blocks.materialize().a.nnz == full.a.nnz


def test_proofs_made_with_blocks_verify_and_bad_witnesses_name_their_constraint() -> None:
    rng = random.Random(3)
    blocks = compile_blocks(chunk_circuit(20))
    pk = insecure_single_party_setup(blocks.materialize(), rng)
    w = _witness(20, rng)
    proof = prove(pk, blocks, w, rng)  # type: ignore[arg-type]
    assert verify(pk.vk, w[1:4], proof)
    bad = list(w)
    bad[2] = (bad[2] + 1) % R  # e
    with pytest.raises(UnsatisfiedConstraintError) as err:
        prove(pk, blocks, bad, rng)  # type: ignore[arg-type]
    assert err.value.label == "evaluation"
    with pytest.raises(LengthError):
        blocks.rows(FrArray.from_ints(w[:-1]))


def test_blocks_hold_a_fraction_of_the_bytes() -> None:
    full, blocks = compile_r1cs(chunk_circuit(1024)), compile_blocks(chunk_circuit(1024))
    full_bytes = sum(m.row_ptr.nbytes + m.cols.nbytes + m.coeffs.nbytes for m in (full.a, full.b, full.c))
    assert blocks.nbytes() * 5 < full_bytes

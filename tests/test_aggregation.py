"""The aggregation proof end to end: a simulated round, chunk proofs, and soundness probes."""

from __future__ import annotations

import dataclasses
import multiprocessing
import secrets
from concurrent.futures import ProcessPoolExecutor

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings
from zkagg.circuits.aggregation import ChunkCircuit, n_constraints

from zkagg.aggregation import (
    AggregationJob,
    ChunkLayout,
    chunk_output,
    context,
    prove_round,
    public_inputs,
    slots,
    verify_round,
)
from zkagg.bn254.constants import FR_MODULUS
from zkagg.bn254.field import FrArray
from zkagg.circuit import count, evaluate
from zkagg.errors import (
    InputError,
    LedgerError,
    ProofRejectedError,
    ProtocolError,
    UnsatisfiedConstraintError,
)
from zkagg.groth16 import verify
from zkagg.ledger import MemoryLedger, Slots
from zkagg.secagg import DropPoint, Quantization, SecAggConfig, simulate_round

N, D = 4, 40  # 40 parameters, 9 per element (28-bit slots): 5 elements, chunks of 3 → 2 chunks


@pytest.fixture(scope="module")
def job() -> AggregationJob:
    config = SecAggConfig(job_id=secrets.token_bytes(32), n_clients=N, model_length=D, neighbours=3,
                          quantization=Quantization(bits=16, frac_bits=12, clip=4.0),
                          max_weight=1000)
    return AggregationJob(config, chunk_len=3)


@pytest.fixture(scope="module")
def pk(job: AggregationJob):  # noqa: ANN201
    return job.insecure_single_party_setup()


def run_round(job: AggregationJob, round: int, dropouts: dict[int, DropPoint], pk=None):  # noqa: ANN001, ANN201
    ledger = MemoryLedger()
    ledger.open_job(job.config.job_id, N, job.config.max_weight, job.verifier(pk.vk) if pk else None)
    rng = np.random.default_rng(round)  # test data only
    updates = {c: (rng.uniform(-1, 1, D), int(rng.integers(1, 1000))) for c in range(N)}
    result = simulate_round(job.config, updates, round=round, ledger=ledger, dropouts=dropouts,
                            commit=job.commit)
    return ledger, result


def test_golden_constraint_count(job: AggregationJob) -> None:
    lay = job.layout
    assert (lay.n_chunks, lay.depth, job.config.per_element) == (2, 1, 9)
    # per slot: sponge of 3 elements (612) + one Merkle level (242) + the root check; the output
    # sponge of N and 3 sums (612), the sums and N each made a wire (4), + its check; the context:
    # a 253-bit decomposition (254) and the 31 chunk-index bits above the path's one
    assert job.r1cs.n_constraints == N * (612 + 242 + 1) + (612 + 4 + 1) + 254 + 31
    assert count(job.circuit()).n_constraints == job.r1cs.n_constraints
    assert job.r1cs.n_public == 2 * N + 2


def test_context_binds_job_round_and_chunk() -> None:
    job_id = bytes(range(32))
    c = context(job_id, 7, 3)
    assert c < 1 << 253 and c & 0xFFFFFFFF == 3
    others = {context(job_id, 8, 3), context(job_id, 7, 4), context(bytes(32), 7, 3)}
    assert c not in others and len(others) == 3
    for bad in [(job_id, -1, 0), (job_id, 1 << 64, 0), (job_id, 0, 1 << 32), (b"short", 0, 0)]:
        with pytest.raises(InputError):
            context(*bad)


# (4 slots, t = 2 of 3: with double masking every survivor's self-mask also needs 2 answering holders)
@pytest.mark.parametrize("dropouts", [{}, {1: DropPoint.AFTER_MASK_COMMITMENT}, {3: DropPoint.BEFORE_SHARES}])
def test_a_proved_round_publishes_exactly_the_secure_aggregate(job, pk, dropouts) -> None:  # noqa: ANN001
    ledger, result = run_round(job, 5, dropouts, pk)
    proof = prove_round(job, pk, result, ledger)
    assert proof.aggregate == result.aggregate and proof.total_weight == result.total_weight
    record = slots(job, ledger, 5)
    assert verify_round(job, pk.vk, proof, record)
    assert record.total_weight == result.total_weight
    if 3 in dropouts:
        assert record.commitments[3] == job.empty_commitment and record.weights[3] == 0
    if 1 in dropouts:
        assert record.commitments[1] == ledger.mask_commitments(job.config.job_id, 5)[1]
        assert record.weights[1] == 0
    job_id = job.config.job_id
    assert ledger.model_hash(job_id, 5) is None
    assert ledger.accept_round(job_id, 5, proof) == proof.model_hash == ledger.model_hash(job_id, 5)
    with pytest.raises(LedgerError, match="replay"):
        ledger.accept_round(job_id, 5, proof)


def test_soundness_probes(job, pk) -> None:  # noqa: ANN001
    ledger, result = run_round(job, 6, {2: DropPoint.AFTER_MASK_COMMITMENT}, pk)
    proof = prove_round(job, pk, result, ledger)
    record = slots(job, ledger, 6)
    job_id = job.config.job_id
    assert verify_round(job, pk.vk, proof, record)
    # one parameter of S, N, a weight, a swapped U/D assignment or another round: rejected
    bumped = FrArray(result.aggregate.limbs.copy()) + FrArray.from_ints([0, 0, 0, 0, 1])
    assert not verify_round(job, pk.vk, dataclasses.replace(proof, aggregate=bumped), record)
    assert not verify_round(job, pk.vk, dataclasses.replace(proof, total_weight=proof.total_weight + 1), record)
    weights = list(record.weights)
    weights[0], weights[1] = weights[0] + 1, weights[1] - 1  # N unchanged: the weights are bound
    assert not verify_round(job, pk.vk, proof, Slots(record.commitments, tuple(weights)))
    assert not verify_round(job, pk.vk, dataclasses.replace(proof, round=7), record)
    swapped = list(record.commitments)
    swapped[2] = ledger.submissions(job_id, 6)[0][0]
    assert not verify_round(job, pk.vk, proof, Slots(tuple(swapped), record.weights))
    # the ledger refuses each of them and records nothing
    for bad in [dataclasses.replace(proof, aggregate=bumped), dataclasses.replace(proof, round=7),
                dataclasses.replace(proof, chunks=proof.chunks[::-1]), "not a proof"]:
        with pytest.raises(ProofRejectedError):
            ledger.accept_round(job_id, 6, bad)
        assert ledger.model_hash(job_id, 6) is None
    # every public input of a chunk proof is bound, the chunk index and the job among them
    chunk = proof.chunks[1]
    publics = public_inputs(job_id, 6, 1, record, chunk.output)
    assert verify(pk.vk, publics, chunk.proof)
    for i in range(len(publics)):
        altered = list(publics)
        altered[i] = (altered[i] + 1) % (1 << 253)
        assert not verify(pk.vk, altered, chunk.proof)
    assert not verify(pk.vk, public_inputs(job_id, 6, 0, record, chunk.output), chunk.proof)
    assert not verify(pk.vk, public_inputs(bytes(32), 6, 1, record, chunk.output), chunk.proof)
    assert ledger.accept_round(job_id, 6, proof) == proof.model_hash


def test_a_wrong_witness_names_the_failing_constraint(job, pk) -> None:  # noqa: ANN001
    ledger, result = run_round(job, 8, {2: DropPoint.AFTER_MASK_COMMITMENT})
    record = slots(job, ledger, 8)
    lay = job.layout
    vectors = [result.inputs[k] for k in range(N)]
    data = [lay.chunk(v, 0).to_ints() for v in vectors]
    total = FrArray.from_ints([sum(col) % FR_MODULUS for col in zip(*data)])
    honest = job.circuit(context=context(job.config.job_id, 8, 0), commitments=list(record.commitments),
                         weights=list(record.weights), output=chunk_output(record.total_weight, total),
                         slots=data, paths=[lay.path(lay.leaves(v), 0) for v in vectors])
    assert evaluate(honest)
    altered_data = [list(d) for d in data]
    altered_data[1][0] = (altered_data[1][0] + 1) % FR_MODULUS  # one client's element
    altered_total = FrArray.from_ints([sum(col) % FR_MODULUS for col in zip(*altered_data)])
    swapped = list(record.commitments)
    swapped[2] = record.commitments[0]  # the dropped slot given a survivor's commitment
    weights = list(record.weights)
    weights[0] += 1
    probes = {
        "slot1": dict(slots=altered_data, output=chunk_output(record.total_weight, altered_total)),
        "slot2": dict(commitments=swapped),
        "output": dict(output=chunk_output(record.total_weight + 1, total)),  # a wrong N
        "output ": dict(weights=weights),  # a wrong weight
        "slot0": dict(context=context(job.config.job_id, 8, 1)),  # another chunk index
    }
    for label, change in probes.items():
        with pytest.raises(UnsatisfiedConstraintError, match=label.strip()):
            evaluate(dataclasses.replace(honest, **change))
    with pytest.raises(UnsatisfiedConstraintError, match="context"):  # a context of 254+ bits
        evaluate(dataclasses.replace(honest, context=FR_MODULUS - 1))
    tampered = dict(result.inputs)
    tampered[1] = tampered[1] + FrArray.from_ints([1] + [0] * (len(tampered[1]) - 1))
    with pytest.raises(ProtocolError, match="slot 1"):
        prove_round(job, pk, dataclasses.replace(result, inputs=tampered), ledger)
    # an altered proof does not verify
    proof = prove_round(job, pk, result, ledger)
    chunk = proof.chunks[0]
    publics = public_inputs(job.config.job_id, 8, 0, record, chunk.output)
    g = chunk.proof
    for bad in [dataclasses.replace(g, a=g.a + g.a), dataclasses.replace(g, c=g.a),
                dataclasses.replace(g, a=-g.a), dataclasses.replace(g, b=g.b + g.b)]:
        assert not verify(pk.vk, publics, bad)


def test_chunks_can_be_proved_in_other_processes(job, pk) -> None:  # noqa: ANN001
    ledger, result = run_round(job, 9, {})
    context = multiprocessing.get_context("spawn")  # fork is unsafe with the native thread pool
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        proof = prove_round(job, pk, result, ledger, executor=pool)
    assert [c.chunk for c in proof.chunks] == [0, 1]
    assert verify_round(job, pk.vk, proof, slots(job, ledger, 9))


@settings(max_examples=15, deadline=None)
@given(n=st.integers(2, 5), chunk_len=st.integers(1, 40), depth=st.integers(1, 6))
def test_the_closed_form_cost_is_the_circuits(n: int, chunk_len: int, depth: int) -> None:
    circuit = ChunkCircuit(n=n, chunk_len=chunk_len, depth=depth, commitments=[0] * n, weights=[0] * n,
                           slots=[[0] * chunk_len] * n, paths=[[0] * depth] * n)
    assert count(circuit).n_constraints == n_constraints(n, chunk_len, depth)


@pytest.mark.parametrize(("n", "d"), [(4, 10**3), (8, 10**5), (16, 10**5), (64, 10**4)])
def test_fitting_jobs_fill_their_proving_domain(n: int, d: int) -> None:
    config = SecAggConfig(job_id=bytes(32), n_clients=n, model_length=d, neighbours=3,
                          quantization=Quantization(bits=16, frac_bits=12, clip=4.0), max_weight=1000)
    job = AggregationJob.fitting(config, 19)
    lay = job.layout

    def rows(length: int) -> int:
        depth = ChunkLayout(config.n_elements, length).depth
        return n_constraints(n, length, depth) + 2 * n + 3

    assert rows(lay.chunk_len) <= 1 << 19
    assert lay.chunk_len == config.n_elements or rows(lay.chunk_len + 16) > 1 << 19
    with pytest.raises(InputError):
        AggregationJob.fitting(dataclasses.replace(config, n_clients=600), 12)

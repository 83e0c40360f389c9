"""A job's aggregation statement and the round prover: from the aggregator's result after unmasking
to verified chunk proofs and the published aggregate.

Slots are the job's client slots. Slot k holds y_k with commitment c_k and weight w_k if client k
submitted (U), T_k with e_k and weight 0 if it dropped after committing its mask (D), and the zero
vector with the job's empty commitment and weight 0 otherwise — exactly what the ledger recorded,
so a verifier rebuilds the public inputs from the ledger alone (`slots`). The published model is
(S, N); its hash is sha256 over the chunk outputs sponge(N, S_j).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..bn254.field import FrArray
from ..circuit import R1CS, compile_r1cs, evaluate
from ..circuits.aggregation import CHUNK_BITS, CONTEXT_BITS, ChunkCircuit, n_constraints
from ..errors import InputError, ProtocolError, check_int
from ..groth16 import Proof, ProvingKey, VerifyingKey, insecure_single_party_setup, prove, verify
from ..ledger import Ledger, Slots, round_slots
from ..poseidon import poseidon_sponge
from ..poseidon.merkle import merkle_paths, merkle_root
from ..secagg.aggregator import RoundResult
from ..secagg.config import SecAggConfig
from .chunks import ChunkLayout


@dataclass(frozen=True)
class AggregationJob:
    """A secure-aggregation job plus its chunking: what fixes the chunk circuit (one setup per job)."""

    config: SecAggConfig
    chunk_len: int

    def __post_init__(self) -> None:
        if self.layout.n_chunks > 1 << CHUNK_BITS:
            raise InputError("too many chunks for a 32-bit chunk index")

    @classmethod
    def fitting(cls, config: SecAggConfig, log_domain: int = 19) -> AggregationJob:
        """The job whose chunks are as long as a proving domain of 2^log_domain rows allows
        (a chunk one row over would double the prover's FFTs and key)."""
        check_int("log_domain", log_domain, 10, 26)

        def rows(chunk_len: int) -> int:
            depth = ChunkLayout(config.n_elements, chunk_len).depth
            return n_constraints(config.n_clients, chunk_len, depth) + 2 * config.n_clients + 3

        if rows(config.n_elements) <= 1 << log_domain:
            return cls(config, config.n_elements)  # one chunk
        # chunk_len + 1 a multiple of 16: the output sponge (N, S_j) fills its last permutation
        estimate = (1 << log_domain) // (38 * (config.n_clients + 1))
        chunk_len = (min(config.n_elements - 1, estimate) - 15) // 16 * 16 + 15
        while chunk_len >= 15 and rows(chunk_len) > 1 << log_domain:
            chunk_len -= 16
        if chunk_len < 15:
            raise InputError(f"{config.n_clients} slots do not fit a domain of 2^{log_domain} rows")
        return cls(config, chunk_len)

    @property
    def layout(self) -> ChunkLayout:
        return ChunkLayout(self.config.n_elements, min(self.chunk_len, self.config.n_elements))

    def commit(self, vector: FrArray) -> int:
        """The commitment clients post (c_u, e_u): pass it as the secure-aggregation `commit`."""
        return self.layout.commit(vector)

    @cached_property
    def empty_commitment(self) -> int:
        return self.commit(FrArray.zeros(self.config.n_elements))

    def circuit(self, **assignment: Any) -> ChunkCircuit:
        n, lay = self.config.n_clients, self.layout
        shapes: dict[str, Any] = {
            "commitments": [0] * n,
            "weights": [0] * n,
            "slots": [[0] * lay.chunk_len for _ in range(n)],
            "paths": [[0] * lay.depth for _ in range(n)],
        }
        shapes.update(assignment)
        return ChunkCircuit(n=n, chunk_len=lay.chunk_len, depth=lay.depth, **shapes)

    @cached_property
    def r1cs(self) -> R1CS:
        return compile_r1cs(self.circuit())

    def verifier(self, vk: VerifyingKey) -> JobVerifier:
        return JobVerifier(self, vk)

    def insecure_single_party_setup(self) -> ProvingKey:
        """A Groth16 key for the job's chunk circuit made by one party (tests and demos only:
        real keys come from zkagg.ceremony, see zkagg.ceremony.job_keys)."""
        return insecure_single_party_setup(self.r1cs)


def context(job_id: bytes, round: int, chunk: int) -> int:
    """Public input 0: sha256(job_id ‖ round as 8 bytes big-endian) >> 35, times 2^32, plus the
    chunk index — 253 bits binding job, round and chunk (the contract computes the same)."""
    if len(job_id) != 32:
        raise InputError("job_id must be 32 bytes")
    check_int("round", round, 0, (1 << 64) - 1)
    check_int("chunk", chunk, 0, (1 << CHUNK_BITS) - 1)
    tag = int.from_bytes(hashlib.sha256(job_id + round.to_bytes(8, "big")).digest(), "big")
    return (tag >> (256 - CONTEXT_BITS + CHUNK_BITS)) << CHUNK_BITS | chunk


def public_inputs(job_id: bytes, round: int, chunk: int, slots: Slots, output: int) -> list[int]:
    """The chunk circuit's public inputs, in order: what the ledger rebuilds from its records."""
    return [context(job_id, round, chunk), *slots.commitments, *slots.weights, output]


def chunk_output(total_weight: int, chunk: FrArray) -> int:
    """The last public input: the sponge of N followed by the aggregate's chunk S_j."""
    return poseidon_sponge(FrArray.concat([FrArray.from_ints([total_weight]), chunk]))


def model_hash(outputs: Sequence[int]) -> bytes:
    """The round's model hash the ledger stores: sha256 of the chunk outputs, 32 bytes each."""
    return hashlib.sha256(b"".join(o.to_bytes(32, "big") for o in outputs)).digest()


def slots(job: AggregationJob, ledger: Ledger, round: int) -> Slots:
    """The round's slots as the ledger recorded them (the round must be closed)."""
    cfg = job.config
    return round_slots(ledger, cfg.job_id, round, cfg.n_clients, job.empty_commitment)


@dataclass(frozen=True)
class ChunkProof:
    chunk: int
    output: int  # chunk_output(N, S_j): the last public input
    proof: Proof
    witness_s: float = field(default=0.0, compare=False)  # how long the witness took
    prove_s: float = field(default=0.0, compare=False)  # and the proof (with its verification)


@dataclass(frozen=True)
class RoundProof:
    round: int
    chunks: tuple[ChunkProof, ...]
    aggregate: FrArray  # S, the packed sum of the survivors' weighted updates
    total_weight: int  # N

    @property
    def model_hash(self) -> bytes:
        return model_hash([c.output for c in self.chunks])


def prove_chunk(job: AggregationJob, pk: ProvingKey, round: int, j: int, record: Slots,
                data: Sequence[FrArray], paths: Sequence[list[int]]) -> ChunkProof:
    """The proof of chunk j from each slot's chunk data and Merkle path (what one task needs)."""
    total = data[0]
    for s in data[1:]:
        total = total + s
    output = chunk_output(record.total_weight, total)
    circuit = job.circuit(
        context=context(job.config.job_id, round, j), commitments=list(record.commitments),
        weights=list(record.weights), output=output, slots=[s.to_ints() for s in data],
        paths=[list(p) for p in paths],
    )
    t0 = time.perf_counter()
    witness = evaluate(circuit)
    t1 = time.perf_counter()
    proof = prove(pk, job.r1cs, witness)
    return ChunkProof(j, output, proof, t1 - t0, time.perf_counter() - t1)


@dataclass(frozen=True)
class RoundWitness:
    """A finished round's slot data, checked against the ledger: each slot's vector and the
    Merkle path of each of its chunks. `chunk(j)` is what the proof of chunk j needs."""

    job: AggregationJob
    round: int
    record: Slots
    vectors: list[FrArray] = field(repr=False)
    paths: list[list[list[int]]] = field(repr=False)  # by slot, then chunk

    @classmethod
    def of(cls, job: AggregationJob, result: RoundResult, ledger: Ledger) -> RoundWitness:
        """The slots come from the ledger; the aggregator's data must match them (else ProtocolError)."""
        record = slots(job, ledger, result.round)
        if record.total_weight != result.total_weight:
            raise ProtocolError("the aggregator's total weight differs from the ledger's")
        zero = FrArray.zeros(job.config.n_elements)
        vectors = [result.inputs.get(k, zero) for k in range(job.config.n_clients)]
        leaves = [job.layout.leaves(v) for v in vectors]
        for k, (lv, a) in enumerate(zip(leaves, record.commitments)):
            if merkle_root(lv) != a:
                raise ProtocolError(f"slot {k}'s data does not match its commitment on the ledger")
        return cls(job, result.round, record, vectors, [merkle_paths(lv) for lv in leaves])

    def chunk(self, j: int) -> tuple[list[FrArray], list[list[int]]]:
        return [self.job.layout.chunk(v, j) for v in self.vectors], [p[j] for p in self.paths]


def _prove_witness_chunk(job: AggregationJob, pk: ProvingKey, witness: RoundWitness, j: int) -> ChunkProof:
    return prove_chunk(job, pk, witness.round, j, witness.record, *witness.chunk(j))


def prove_round(job: AggregationJob, pk: ProvingKey, result: RoundResult, ledger: Ledger, *,
                executor: Executor | None = None) -> RoundProof:
    """Proofs for every chunk of a finished round (each verified by `prove` before it is returned).

    The slots come from the ledger; the aggregator's data must match them (else ProtocolError).
    With an executor, chunks are proved in parallel (each task gets the key and its slot data);
    without one, one after the other in this process (the native core is multi-threaded).
    For a Ray cluster, see `zkagg.aggregation.ray_backend.RayProver`.
    """
    witness = RoundWitness.of(job, result, ledger)
    n = job.layout.n_chunks
    run: Callable[..., Iterable[ChunkProof]] = executor.map if executor else map  # type: ignore[assignment]
    chunks = tuple(run(_prove_witness_chunk, [job] * n, [pk] * n, [witness] * n, range(n)))
    return RoundProof(result.round, chunks, result.aggregate, result.total_weight)


def check_chunk(job: AggregationJob, vk: VerifyingKey, round: int, record: Slots, aggregate: FrArray,
                chunk: ChunkProof) -> bool:
    """Whether one chunk proof proves chunk `chunk.chunk` of the published aggregate, with public
    inputs rebuilt from the ledger's slots (the prover's claimed output is checked, not trusted)."""
    lay = job.layout
    if not 0 <= chunk.chunk < lay.n_chunks or len(aggregate) != lay.n_elements:
        return False
    output = chunk_output(record.total_weight, lay.chunk(aggregate, chunk.chunk))
    return chunk.output == output and verify(
        vk, public_inputs(job.config.job_id, round, chunk.chunk, record, output), chunk.proof)


def verify_round(job: AggregationJob, vk: VerifyingKey, proof: RoundProof, record: Slots) -> bool:
    """Whether the published model (S, N) is proved: every chunk proof verifies against public
    inputs rebuilt from the ledger's slots and the published aggregate."""
    lay = job.layout
    if (len(proof.aggregate) != lay.n_elements or proof.total_weight != record.total_weight
            or [c.chunk for c in proof.chunks] != list(range(lay.n_chunks))):
        return False
    return all(check_chunk(job, vk, proof.round, record, proof.aggregate, c) for c in proof.chunks)


@dataclass(frozen=True)
class JobVerifier:
    """The job's round check as a ledger uses it (`MemoryLedger.open_job(..., verifier=...)`)."""

    job: AggregationJob
    vk: VerifyingKey

    @property
    def empty_commitment(self) -> int:
        return self.job.empty_commitment

    def model_hash(self, round: int, slots: Slots, proof: Any) -> bytes | None:
        if not isinstance(proof, RoundProof) or proof.round != round:
            return None
        return proof.model_hash if verify_round(self.job, self.vk, proof, slots) else None

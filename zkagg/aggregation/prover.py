"""A job's aggregation statement and the round prover: from the aggregator's result after unmasking
to verified chunk proofs and the published aggregate.

Slots are the job's client slots. Slot k holds y_k with commitment c_k if client k submitted (U),
T_k with e_k if it dropped after committing its mask (D), and the zero vector with the job's empty
commitment otherwise — exactly what the ledger recorded, so a verifier rebuilds the public inputs
from the ledger alone (`slot_commitments`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..bn254.field import FrArray
from ..circuit import R1CS, compile_r1cs, evaluate
from ..circuits.aggregation import CHUNK_BITS, ChunkCircuit
from ..errors import InputError, ProtocolError
from ..groth16 import Proof, ProvingKey, VerifyingKey, prove, setup, verify
from ..ledger import Ledger
from ..poseidon import poseidon_sponge, poseidon_sponge_many
from ..poseidon.merkle import merkle_root
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
            "slots": [[0] * lay.chunk_len for _ in range(n)],
            "paths": [[0] * lay.depth for _ in range(n)],
        }
        shapes.update(assignment)
        return ChunkCircuit(n=n, chunk_len=lay.chunk_len, depth=lay.depth, **shapes)

    @cached_property
    def r1cs(self) -> R1CS:
        return compile_r1cs(self.circuit())

    def setup(self) -> ProvingKey:
        """A fresh Groth16 key for the job's chunk circuit (run `contribute` on it for a ceremony)."""
        return setup(self.r1cs)


def public_inputs(round: int, chunk: int, commitments: Sequence[int], output: int) -> list[int]:
    """The chunk circuit's public inputs, in order (what the contract rebuilds)."""
    if not 0 <= round < 1 << 64 or not 0 <= chunk < 1 << CHUNK_BITS:
        raise InputError("round must fit 64 bits and chunk 32 bits")
    return [round << CHUNK_BITS | chunk, *commitments, output]


def slot_commitments(job: AggregationJob, ledger: Ledger, round: int) -> list[int]:
    """a_k per slot from the ledger: c_k for survivors, e_k for the dropped, the empty root else."""
    cfg = job.config
    outcome = ledger.outcome(cfg.job_id, round)
    if outcome is None:
        raise ProtocolError("submissions are not closed on the ledger")
    posted, masks = ledger.submissions(cfg.job_id, round), ledger.mask_commitments(cfg.job_id, round)
    out = [job.empty_commitment] * cfg.n_clients
    for k in outcome.survivors:
        out[k] = posted[k][0]
    for k in outcome.dropped:
        out[k] = masks[k]
    return out


@dataclass(frozen=True)
class ChunkProof:
    chunk: int
    output: int  # the sponge of the aggregate's chunk: a public input
    proof: Proof


@dataclass(frozen=True)
class RoundProof:
    round: int
    commitments: tuple[int, ...]
    chunks: tuple[ChunkProof, ...]
    aggregate: FrArray  # S, the packed sum of the survivors' updates
    total_weight: int  # N


def _prove_chunk(job: AggregationJob, pk: ProvingKey, round: int, j: int, commitments: list[int],
                 vectors: list[FrArray], leaves: list[list[int]]) -> ChunkProof:
    lay = job.layout
    slots = [lay.chunk(v, j) for v in vectors]
    total = slots[0]
    for s in slots[1:]:
        total = total + s
    output = poseidon_sponge(total)
    circuit = job.circuit(
        round_chunk=public_inputs(round, j, commitments, output)[0], commitments=commitments,
        output=output, slots=[s.to_ints() for s in slots],
        paths=[lay.path(lv, j) for lv in leaves],
    )
    return ChunkProof(j, output, prove(pk, job.r1cs, evaluate(circuit)))


def prove_round(job: AggregationJob, pk: ProvingKey, result: RoundResult, ledger: Ledger, *,
                executor: Executor | None = None) -> RoundProof:
    """Proofs for every chunk of a finished round (each verified by `prove` before it is returned).

    With an executor, chunks are proved in parallel (each task gets the key and its slot data);
    without one, one after the other in this process (the native core is multi-threaded).
    """
    cfg = job.config
    commitments = slot_commitments(job, ledger, result.round)
    zero = FrArray.zeros(cfg.n_elements)
    vectors = [result.inputs.get(k, zero) for k in range(cfg.n_clients)]
    leaves = [job.layout.leaves(v) for v in vectors]
    for k, (lv, a) in enumerate(zip(leaves, commitments)):
        if merkle_root(lv) != a:
            raise ProtocolError(f"slot {k}'s data does not match its commitment on the ledger")
    args = [(job, pk, result.round, j, commitments, vectors, leaves) for j in range(job.layout.n_chunks)]
    run: Callable[..., Iterable[ChunkProof]] = executor.map if executor else map  # type: ignore[assignment]
    chunks = tuple(run(_prove_chunk, *zip(*args)))
    return RoundProof(result.round, tuple(commitments), chunks, result.aggregate, result.total_weight)


def verify_round(job: AggregationJob, vk: VerifyingKey, proof: RoundProof,
                 commitments: Sequence[int]) -> bool:
    """Whether the published aggregate is proved: every chunk proof verifies against public inputs
    rebuilt from `commitments` (the ledger's) and the hashes of the published aggregate's chunks."""
    lay = job.layout
    if len(proof.aggregate) != lay.n_elements or [c.chunk for c in proof.chunks] != list(range(lay.n_chunks)):
        return False
    outputs = poseidon_sponge_many([lay.chunk(proof.aggregate, j) for j in range(lay.n_chunks)])
    return all(
        verify(vk, public_inputs(proof.round, c.chunk, commitments, out), c.proof)
        for c, out in zip(proof.chunks, outputs)
    )

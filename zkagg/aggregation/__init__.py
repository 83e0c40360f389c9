"""The aggregation proof: the chunk statement, chunked commitments, and the round prover."""

from .chunks import ChunkLayout
from .prover import (
    AggregationJob,
    ChunkProof,
    RoundProof,
    prove_round,
    public_inputs,
    slot_commitments,
    verify_round,
)

__all__ = ["AggregationJob", "ChunkLayout", "ChunkProof", "RoundProof", "prove_round",
           "public_inputs", "slot_commitments", "verify_round"]

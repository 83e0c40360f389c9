"""The aggregation proof: the chunk statement, chunked commitments, and the round prover."""

from .chunks import ChunkLayout
from .prover import (
    AggregationJob,
    ChunkProof,
    JobVerifier,
    RoundProof,
    RoundWitness,
    check_chunk,
    chunk_output,
    context,
    model_hash,
    prove_chunk,
    prove_round,
    public_inputs,
    slots,
    verify_round,
)

__all__ = ["AggregationJob", "ChunkLayout", "ChunkProof", "JobVerifier", "RoundProof",
           "RoundWitness", "check_chunk", "chunk_output", "context", "model_hash", "prove_chunk",
           "prove_round", "public_inputs", "slots", "verify_round"]

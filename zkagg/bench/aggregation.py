"""`zkagg bench round`: proving whole aggregation rounds (all chunks), and the cost per parameter.

A round with n clients and d parameters runs through the secure-aggregation simulator with
chunked commitments, then every chunk is proved (witness and proof timed; setup timed apart).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import numpy as np

from ..aggregation import AggregationJob, prove_round, slot_commitments, verify_round
from ..errors import ProofError
from ..ledger import MemoryLedger
from ..secagg import Quantization, SecAggConfig, simulate_round
from .timing import machine_info

SEED = 20261122
QUANTIZATION = Quantization(bits=16, frac_bits=12, clip=4.0)
MAX_WEIGHT = 1000
#: elements per chunk: chunk circuits of about 2^18–2^20 constraints at n = 4 … 16
CHUNK_CONSTRAINTS = 1 << 19


def job_for(n: int, d: int) -> AggregationJob:
    config = SecAggConfig(job_id=secrets.token_bytes(32), n_clients=n, model_length=d,
                          quantization=QUANTIZATION, max_weight=MAX_WEIGHT, neighbours=min(10, n - 1))
    # about 38.25 constraints per slot element with n + 1 sponges per chunk
    chunk_len = max(16, min(config.n_elements, int(CHUNK_CONSTRAINTS / (38.25 * (n + 1))) // 16 * 16))
    return AggregationJob(config, chunk_len)


def measure(n: int, d: int) -> dict[str, Any]:
    job = job_for(n, d)
    t0 = time.perf_counter()
    r1cs = job.r1cs
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pk = job.setup()
    setup_s = time.perf_counter() - t0
    ledger = MemoryLedger()
    ledger.open_job(job.config.job_id, n, MAX_WEIGHT)
    rng = np.random.default_rng(SEED)  # benchmark data, not key material
    updates = {c: (rng.normal(0, 0.5, d), int(rng.integers(1, MAX_WEIGHT))) for c in range(n)}
    result = simulate_round(job.config, updates, ledger=ledger, commit=job.commit)
    t0 = time.perf_counter()
    proof = prove_round(job, pk, result, ledger)
    prove_s = time.perf_counter() - t0
    if not verify_round(job, pk.vk, proof, slot_commitments(job, ledger, 0)):
        raise ProofError("the round proof does not verify")
    chunks = job.layout.n_chunks
    constraints = chunks * r1cs.n_constraints
    return {
        "n": n, "d": d, "chunks": chunks, "chunk_len": job.layout.chunk_len,
        "per_element": job.config.per_element,
        "constraints": constraints,
        "constraints_per_client_param": constraints / (n * d),
        "chunk_constraints": r1cs.n_constraints,
        "r1cs_build_s": build_s,
        "setup_s": setup_s,
        "prove_s": prove_s,
        "us_per_client_param": prove_s / (n * d) * 1e6,
        "proving_key_mb": len(pk.to_bytes()) / 2**20,
    }


def run(quick: bool = False) -> dict[str, Any]:
    grid = [(4, 10**3), (8, 10**3)] if quick else [(n, d) for n in (4, 8, 16) for d in (10**3, 10**4, 10**5)]
    return {"suite": "round", "quick": quick, "machine": machine_info(),
            "rows": [measure(n, d) for n, d in grid]}


def table(result: dict[str, Any]) -> str:
    lines = ["Aggregation rounds, all chunks proved (16-bit quantization, max weight 1000)",
             "   n        d   chunks   constraints   per client-param   prove s   µs/client-param   setup s"]
    for r in result["rows"]:
        lines.append(f"  {r['n']:2d}  {r['d']:7d}   {r['chunks']:6d}   {r['constraints']:11d}"
                     f"   {r['constraints_per_client_param']:16.2f}   {r['prove_s']:7.2f}"
                     f"   {r['us_per_client_param']:15.1f}   {r['setup_s']:7.1f}")
    return "\n".join(lines)

"""`zkagg bench round`: proving whole aggregation rounds (all chunks), and the cost per parameter.

A round with n clients and d parameters runs through the secure-aggregation simulator with
chunked commitments, then every chunk is proved (witness and proof timed; setup timed apart).

`--ray ADDRESS` proves one round on a Ray cluster ("local" starts one on this machine) with one
worker and then with two (each worker a task holding half the CPUs, its native core on that many
threads) and reports `ray_speedup`. `--load` runs one round of 100 clients × 10^5 parameters and
reports the process's peak resident memory (`peak_rss_mb`).
"""

from __future__ import annotations

import resource
import secrets
import time
from typing import Any

import numpy as np

from ..aggregation import AggregationJob, prove_round, slots, verify_round
from ..errors import ProofError
from ..ledger import MemoryLedger
from ..secagg import Quantization, SecAggConfig, simulate_round
from .timing import machine_info

SEED = 20261122
QUANTIZATION = Quantization(bits=16, frac_bits=12, clip=4.0)
MAX_WEIGHT = 1000
#: (n, d) of the naive circom baseline
NAIVE_SIZE = (4, 256)
#: chunks as long as a proving domain of 2^19 rows allows
LOG_DOMAIN = 19
#: (n, d, log domain) of the Ray comparison, full and quick (small chunks: several of them)
RAY_SIZE, RAY_SIZE_QUICK = (8, 10**5, 19), (4, 10**4, 15)
#: (n, d) of the load round, and the resident memory it must stay below
LOAD_SIZE, LOAD_RSS_LIMIT_MB = (100, 10**5), 8192


def job_for(n: int, d: int, log_domain: int | None = None) -> AggregationJob:
    config = SecAggConfig(job_id=secrets.token_bytes(32), n_clients=n, model_length=d,
                          quantization=QUANTIZATION, max_weight=MAX_WEIGHT, neighbours=min(10, n - 1))
    return AggregationJob.fitting(config, log_domain or LOG_DOMAIN)


def finished_round(job: AggregationJob, pk: Any = None) -> tuple[MemoryLedger, Any]:
    """A simulated round of the job's clients with fixed benchmark data, on a fresh ledger."""
    cfg = job.config
    ledger = MemoryLedger()
    ledger.open_job(cfg.job_id, cfg.n_clients, cfg.max_weight, job.verifier(pk.vk) if pk else None)
    rng = np.random.default_rng(SEED)  # benchmark data, not key material
    updates = {c: (rng.normal(0, 0.5, cfg.model_length), int(rng.integers(1, MAX_WEIGHT)))
               for c in range(cfg.n_clients)}
    return ledger, simulate_round(cfg, updates, ledger=ledger, commit=job.commit)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(n: int, d: int) -> dict[str, Any]:
    job = job_for(n, d)
    t0 = time.perf_counter()
    r1cs = job.r1cs
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pk = job.insecure_single_party_setup()
    setup_s = time.perf_counter() - t0
    ledger, result = finished_round(job)
    t0 = time.perf_counter()
    proof = prove_round(job, pk, result, ledger)
    prove_s = time.perf_counter() - t0
    if not verify_round(job, pk.vk, proof, slots(job, ledger, 0)):
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
        "witness_s": sum(c.witness_s for c in proof.chunks),
        "us_per_client_param": prove_s / (n * d) * 1e6,
        "proving_key_mb": len(pk.to_bytes()) / 2**20,
    }


def measure_load(n: int, d: int) -> dict[str, Any]:
    """One round of n clients × d parameters, every chunk proved and verified, and the peak
    resident memory of this process (run it first in a process: the peak is lifelong)."""
    job = job_for(n, d)
    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    ledger, result = finished_round(job)
    phases["secagg_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    r1cs = job.r1cs
    pk = job.insecure_single_party_setup()
    phases["setup_s"] = time.perf_counter() - t0
    rss_before_prove = peak_rss_mb()
    t0 = time.perf_counter()
    proof = prove_round(job, pk, result, ledger)
    phases["prove_s"] = time.perf_counter() - t0
    if not verify_round(job, pk.vk, proof, slots(job, ledger, result.round)):
        raise ProofError("the load round's proof does not verify")
    peak = peak_rss_mb()
    return {"n": n, "d": d, "chunks": job.layout.n_chunks, "chunk_len": job.layout.chunk_len,
            "chunk_constraints": r1cs.n_constraints, **phases,
            "us_per_client_param": phases["prove_s"] / (n * d) * 1e6,
            "peak_rss_mb_before_prove": rss_before_prove, "peak_rss_mb": peak,
            "rss_limit_mb": LOAD_RSS_LIMIT_MB, "within_limit": peak < LOAD_RSS_LIMIT_MB}


def measure_ray(address: str, n: int, d: int, log_domain: int) -> dict[str, Any]:
    """One round proved on the Ray cluster at `address` ("local": start one here) with one worker,
    then with two. Each is proved twice: the first ("cold") includes starting worker processes,
    fetching the key and its first use; the speed-up compares the second ("warm") rounds."""
    import ray

    from ..aggregation.ray_backend import RayProver, connect

    job = job_for(n, d, log_domain)
    pk = job.insecure_single_party_setup()
    ledger, result = finished_round(job)
    record = slots(job, ledger, result.round)
    connect(None if address == "local" else address)
    cpus = float(ray.cluster_resources().get("CPU", 1))
    t0 = time.perf_counter()
    prove_round(job, pk, result, ledger)
    out: dict[str, Any] = {"n": n, "d": d, "chunks": job.layout.n_chunks, "cluster_cpus": cpus,
                           "in_process_prove_s": time.perf_counter() - t0}
    for workers in (1, 2):
        prover = RayProver(job, pk, cpus_per_task=cpus / workers)
        for phase in ("cold", "warm"):
            t0 = time.perf_counter()
            proof = prover.prove_round(result, ledger)
            out[f"ray_{workers}_worker{'s' if workers > 1 else ''}_{phase}_s"] = time.perf_counter() - t0
            if not verify_round(job, pk.vk, proof, record):
                raise ProofError("the Ray round's proof does not verify")
    out["ray_speedup"] = out["ray_1_worker_warm_s"] / out["ray_2_workers_warm_s"]
    return out


def run(quick: bool = False, *, ray_address: str | None = None, load: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"suite": "round", "quick": quick, "machine": machine_info()}
    if load:  # first: the peak resident memory of a process only grows
        out["load"] = measure_load(*LOAD_SIZE)
        out["peak_rss_mb"] = out["load"]["peak_rss_mb"]
    if ray_address is not None:
        out["ray"] = measure_ray(ray_address, *(RAY_SIZE_QUICK if quick else RAY_SIZE))
        out["ray_speedup"] = out["ray"]["ray_speedup"]
    if load or ray_address is not None:
        return out
    grid = [(4, 10**3), (8, 10**3)] if quick else [(n, d) for n in (4, 8, 16) for d in (10**3, 10**4, 10**5)]
    out["rows"] = [measure(n, d) for n, d in grid]
    if not quick:
        n, d = NAIVE_SIZE
        naive = naive_snarkjs(n, d)
        ours = measure(n, d)
        out["naive"] = {"n": n, "d": d, **naive, "zkagg_constraints": ours["constraints"],
                        "zkagg_prove_s": ours["prove_s"], "ratio": naive["snarkjs_naive_prove_s"] / ours["prove_s"]}
    return out


def table(result: dict[str, Any]) -> str:
    lines = ["Aggregation rounds, all chunks proved (16-bit quantization, max weight 1000)"]
    if "load" in result:
        v = result["load"]
        lines.append(f"  load: n={v['n']}, d={v['d']}, {v['chunks']} chunks of {v['chunk_len']} elements "
                     f"({v['chunk_constraints']} constraints each): secagg {v['secagg_s']:.1f} s, setup "
                     f"{v['setup_s']:.1f} s, prove {v['prove_s']:.1f} s; peak RSS {v['peak_rss_mb']:.0f} MB "
                     f"(limit {v['rss_limit_mb']} MB)")
    if "ray" in result:
        v = result["ray"]
        lines.append(f"  ray: n={v['n']}, d={v['d']}, {v['chunks']} chunks on {v['cluster_cpus']:.0f} CPUs: "
                     f"in process {v['in_process_prove_s']:.1f} s, 1 worker {v['ray_1_worker_warm_s']:.1f} s "
                     f"(cold {v['ray_1_worker_cold_s']:.1f} s), 2 workers {v['ray_2_workers_warm_s']:.1f} s "
                     f"(cold {v['ray_2_workers_cold_s']:.1f} s): speed-up {v['ray_speedup']:.2f}x")
    if "rows" not in result:
        return "\n".join(lines)
    lines.append("   n        d   chunks   constraints   per client-param   prove s   µs/client-param   setup s")
    for r in result["rows"]:
        lines.append(f"  {r['n']:2d}  {r['d']:7d}   {r['chunks']:6d}   {r['constraints']:11d}"
                     f"   {r['constraints_per_client_param']:16.2f}   {r['prove_s']:7.2f}"
                     f"   {r['us_per_client_param']:15.1f}   {r['setup_s']:7.1f}")
    if "naive" in result:
        v = result["naive"]
        lines.append(f"  naive circom (n={v['n']}, d={v['d']}, {v['snarkjs_naive_constraints']} constraints): snarkjs "
                     f"{v['snarkjs_naive_prove_s']:.2f} s; zkagg {v['zkagg_prove_s']:.2f} s "
                     f"({v['zkagg_constraints']} constraints): {v['ratio']:.1f}x")
    return "\n".join(lines)


#: The naive baseline: the same statement in circom with no packing (one field element per
#: parameter), each slot and the sum hashed by a chain of circomlib Poseidon(16) (15 new elements
#: and the running hash per call).
NAIVE_CIRCOM = """pragma circom 2.1.0;
include "circomlib/circuits/poseidon.circom";

template Chain(d) {
    signal input in[d];
    signal output out;
    var blocks = (d + 14) \\ 15;
    component h[blocks];
    for (var b = 0; b < blocks; b++) {
        h[b] = Poseidon(16);
        h[b].inputs[0] <== b == 0 ? 0 : h[b - 1].out;
        for (var i = 0; i < 15; i++) {
            h[b].inputs[i + 1] <== b * 15 + i < d ? in[b * 15 + i] : 0;
        }
    }
    out <== h[blocks - 1].out;
}

template NaiveAggregate(n, d) {
    signal input commitments[n];
    signal input output_hash;
    signal input slots[n][d];
    component slot_hash[n];
    for (var k = 0; k < n; k++) {
        slot_hash[k] = Chain(d);
        slot_hash[k].in <== slots[k];
        slot_hash[k].out === commitments[k];
    }
    component total = Chain(d);
    for (var i = 0; i < d; i++) {
        var s = 0;
        for (var k = 0; k < n; k++) { s += slots[k][i]; }
        total.in[i] <== s;
    }
    total.out === output_hash;
}

component main {public [commitments, output_hash]} = NaiveAggregate(N, D);
"""


def _chain(values: list[int]) -> int:
    from ..poseidon import poseidon_hash

    h = 0
    for b in range(0, len(values), 15):
        block = values[b : b + 15]
        h = poseidon_hash([h, *block, *[0] * (15 - len(block))])
    return h


def naive_snarkjs(n: int, d: int) -> dict[str, Any]:
    """Compile the naive circom circuit for (n, d), make a contributed key (cached) and time
    snarkjs's proof of a random instance."""
    import hashlib
    import json
    import random
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    from ..bn254.constants import FR_MODULUS
    from ..circuit.circom import read_r1cs
    from . import npm
    from .prove import run_snarkjs

    rng = random.Random(SEED)
    slots = [[rng.randrange(FR_MODULUS) for _ in range(d)] for _ in range(n)]
    total = [sum(col) % FR_MODULUS for col in zip(*slots)]
    inputs = {"commitments": [str(_chain(s)) for s in slots], "output_hash": str(_chain(total)),
              "slots": [[str(v) for v in s] for s in slots]}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "naive.circom"
        source.write_text(NAIVE_CIRCOM.replace("N, D", f"{n}, {d}"))
        cli = npm.package("circom2") / "node_modules" / "circom2" / "cli.js"
        lib = npm.package("circomlib") / "node_modules" / "circomlib"
        # circom2 runs as WASI and sees only its working directory: copy circomlib's circuits in
        shutil.copytree(lib / "circuits", work / "circomlib" / "circuits")
        t0 = time.perf_counter()
        proc = subprocess.run(["node", str(cli), source.name, "--r1cs", "--wasm", "--O2", "-o", "."],
                              cwd=work, capture_output=True, text=True, timeout=3600)
        if proc.returncode != 0:
            raise npm.NodeUnavailableError(f"circom failed: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        compile_s = time.perf_counter() - t0
        r1cs_path = work / "naive.r1cs"
        (work / "input.json").write_text(json.dumps(inputs))
        npm.snarkjs("wtns", "calculate", str(work / "naive_js" / "naive.wasm"), str(work / "input.json"),
                    str(work / "naive.wtns"))
        constraints = read_r1cs(r1cs_path).n_constraints
        log_size = max(14, (constraints + n + 2).bit_length())  # 14, 16: the prove suite's cached ptau
        digest = hashlib.sha256(r1cs_path.read_bytes()).hexdigest()[:16]
        prove_s = run_snarkjs(r1cs_path, work / "naive.wtns", log_size, digest, work)
    return {"snarkjs_naive_constraints": constraints, "snarkjs_naive_compile_s": compile_s,
            "snarkjs_naive_prove_s": prove_s}

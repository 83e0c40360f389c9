"""`zkagg bench prove`: Groth16 proving of random-input Poseidon-sponge circuits, zkagg and snarkjs
on the identical R1CS and witness in the same run.

snarkjs needs a powers-of-tau file and a contributed key; both are slow to make (minutes at
2^14, much longer from 2^16), so they are cached by size and R1CS digest under the npm cache
directory. Its setup is never timed; its proving is, from the same .r1cs/.wtns files zkagg wrote.
"""

from __future__ import annotations

import hashlib
import json
import random
import resource
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bn254 import FrArray
from ..circuit import API, Circuit, Input, compile_r1cs, evaluate, public, secret
from ..circuit.circom import write_r1cs, write_wtns
from ..errors import ProofError
from ..groth16 import Proof, VerifyingKey, insecure_single_party_setup, prove, verify
from ..poseidon import poseidon_sponge
from . import npm
from .timing import machine_info

SEED = 20261122
PERMUTATION = 612  # constraints of one width-17 permutation


@dataclass
class SpongeCircuit(Circuit):
    """h = sponge(x) for a secret vector x: the benchmark's Poseidon-sponge circuit."""

    x: Input = secret([])
    h: Input = public()

    def define(self, api: API) -> None:
        from ..circuits.gadgets import sponge

        api.assert_equal(sponge(api, self.x), self.h)


def sponge_circuit(log_size: int, rng: random.Random) -> SpongeCircuit:
    """The largest sponge circuit whose domain (constraints + 2 rows) fits 2^log_size."""
    n_perms = max(1, (2**log_size - 2) // PERMUTATION)
    x = FrArray.random(16 * n_perms, rng).to_ints()
    return SpongeCircuit(x, poseidon_sponge(x))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def snarkjs_key(r1cs_path: Path, log_size: int, digest: str) -> Path:
    """A contributed snarkjs zkey for this R1CS (cached), from a contributed powers-of-tau."""
    cache = npm.cache_dir() / "bench-prove"
    cache.mkdir(parents=True, exist_ok=True)
    zkey = cache / f"{digest}.zkey"
    if zkey.exists():
        return zkey
    ptau = cache / f"pot{log_size}_final.ptau"
    if not ptau.exists():
        p0, p1 = cache / f"pot{log_size}_0.ptau", cache / f"pot{log_size}_1.ptau"
        npm.snarkjs("powersoftau", "new", "bn128", str(log_size), str(p0))
        npm.snarkjs("powersoftau", "contribute", str(p0), str(p1), "--name=bench", f"-e={secrets.token_hex(32)}")
        npm.snarkjs("powersoftau", "prepare", "phase2", str(p1), str(ptau))
        p0.unlink()
        p1.unlink()
    z0 = cache / f"{digest}_0.zkey"
    npm.snarkjs("groth16", "setup", str(r1cs_path), str(ptau), str(z0))
    npm.snarkjs("zkey", "contribute", str(z0), str(zkey), "--name=bench", f"-e={secrets.token_hex(32)}")
    z0.unlink()
    return zkey


def run_snarkjs(r1cs_path: Path, wtns_path: Path, log_size: int, digest: str, work: Path) -> float:
    zkey = snarkjs_key(r1cs_path, log_size, digest)
    proof_path, public_path = work / "proof.json", work / "public.json"
    t0 = time.perf_counter()
    npm.snarkjs("groth16", "prove", str(zkey), str(wtns_path), str(proof_path), str(public_path))
    elapsed = time.perf_counter() - t0
    # cross-check: zkagg's verifier accepts snarkjs's proof under snarkjs's key
    vk_path = work / "vk.json"
    npm.snarkjs("zkey", "export", "verificationkey", str(zkey), str(vk_path))
    vk = VerifyingKey.from_snarkjs(json.loads(vk_path.read_text()))
    publics = [int(v) for v in json.loads(public_path.read_text())]
    if not verify(vk, publics, Proof.from_snarkjs(json.loads(proof_path.read_text()))):
        raise RuntimeError("snarkjs's proof does not verify under zkagg's verifier")
    return elapsed


def run(quick: bool = False, snarkjs_max_log: int = 16) -> dict[str, Any]:
    rng = random.Random(SEED)
    sizes = [14, 16] if quick else [14, 16, 18, 20]
    out: dict[str, Any] = {"suite": "prove", "quick": quick, "machine": machine_info(), "sizes": []}
    for log_size in sizes:
        circuit = sponge_circuit(log_size, rng)
        t0 = time.perf_counter()
        r1cs = compile_r1cs(circuit)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        z = FrArray.from_ints(evaluate(circuit))
        witness_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        pk = insecure_single_party_setup(r1cs)
        setup_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        proof = prove(pk, r1cs, z)
        prove_s = time.perf_counter() - t0
        row: dict[str, Any] = {
            "log_size": log_size,
            "constraints": r1cs.n_constraints,
            "zkagg_build_s": build_s,
            "zkagg_witness_s": witness_s,
            "zkagg_setup_s": setup_s,
            "zkagg_prove_s": prove_s,
            "proving_key_bytes": len(pk.to_bytes()),
            "peak_rss_mb": peak_rss_mb(),
        }
        if not verify(pk.vk, [circuit.h], proof):
            raise ProofError("zkagg's benchmark proof does not verify")
        if log_size <= snarkjs_max_log:
            with tempfile.TemporaryDirectory() as tmp:
                work = Path(tmp)
                write_r1cs(work / "c.r1cs", r1cs)
                write_wtns(work / "c.wtns", z)
                digest = hashlib.sha256((work / "c.r1cs").read_bytes()).hexdigest()[:16]
                row["snarkjs_prove_s"] = run_snarkjs(work / "c.r1cs", work / "c.wtns", log_size, digest, work)
            row["speedup_vs_snarkjs"] = row["snarkjs_prove_s"] / prove_s
        out["sizes"].append(row)
    last = out["sizes"][-1]
    out["zkagg_s_per_million"] = last["zkagg_prove_s"] / last["constraints"] * 1e6
    return out


def table(result: dict[str, Any]) -> str:
    lines = ["Groth16 prove, Poseidon-sponge circuits (seconds)",
             "  constraints   zkagg prove   snarkjs prove   ratio   zkagg setup   key MB"]
    for r in result["sizes"]:
        sj = f"{r['snarkjs_prove_s']:13.2f}" if "snarkjs_prove_s" in r else f"{'-':>13}"
        ratio = f"{r['speedup_vs_snarkjs']:6.1f}x" if "speedup_vs_snarkjs" in r else f"{'-':>7}"
        lines.append(f"  {r['constraints']:11d}   {r['zkagg_prove_s']:11.2f}   {sj}   {ratio}"
                     f"   {r['zkagg_setup_s']:11.1f}   {r['proving_key_bytes'] / 2**20:6.1f}")
    lines.append(f"  zkagg: {result['zkagg_s_per_million']:.2f} s per million constraints")
    return "\n".join(lines)

"""`zkagg bench setup`: the ceremony's costs. Powers of tau new + contribute + verify at growing
powers (the first contribution, and a later one at small powers), phase 2 (keys from the ptau, one contribution) for a Poseidon-sponge circuit, proving-key
load time (batched checks), and snarkjs's `powersoftau contribute` and `groth16 setup` on the same
inputs in the same run for the ratio. Every ptau here is contributed (never the degenerate τ = 1).
Note the machine load beside the figures: they are wall times on shared cores."""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from ..ceremony import phase1, phase2, ptau
from ..circuit import compile_r1cs
from ..circuit.circom import write_r1cs
from ..groth16 import ProvingKey
from . import npm
from .prove import sponge_circuit
from .timing import machine_info

SEED = 13


def _timed(fn: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def _ptau_row(power: int, rng: random.Random, next_max: int) -> dict[str, Any]:
    """The first contribution (to a fresh file: fixed-base kernel) and, up to 2^next_max, a
    second one (any later contributor: variable-base kernel, the slow general case)."""
    fresh, new_s = _timed(lambda: phase1.new(power))
    pot, contribute_s = _timed(lambda: phase1.contribute(fresh, "bench", rng=rng))
    _, verify_s = _timed(lambda: phase1.verify(pot))
    data, write_s = _timed(lambda: ptau.to_bytes(pot))
    _, load_s = _timed(lambda: ptau.parse(data))
    row = {"power": power, "new_s": new_s, "contribute_s": contribute_s, "verify_s": verify_s,
           "contribute_verify_s": contribute_s + verify_s, "write_s": write_s, "load_s": load_s,
           "bytes": len(data)}
    if power <= next_max:
        _, row["contribute_next_s"] = _timed(lambda: phase1.contribute(pot, "bench 2", rng=rng))
        _, row["contribute_prepare_s"] = _timed(lambda: phase1.contribute(fresh, "bench", rng=rng, prepare=True))
    return {**row, "loadavg": os.getloadavg()[0]}


def _snarkjs_row(power: int, work: Path, r1cs_path: Path, prepared: Path) -> dict[str, Any]:
    row: dict[str, Any] = {"power": power}
    try:
        npm.package("snarkjs")
    except npm.NodeUnavailableError as err:
        return {**row, "skipped": str(err)}
    p0 = work / "sj0.ptau"
    npm.snarkjs("powersoftau", "new", "bn128", str(power), str(p0))
    _, row["snarkjs_contribute_s"] = _timed(lambda: npm.snarkjs(
        "powersoftau", "contribute", str(p0), str(work / "sj1.ptau"), "--name=bench", "-e=bench entropy"))
    _, row["snarkjs_groth16_setup_s"] = _timed(lambda: npm.snarkjs(
        "groth16", "setup", str(r1cs_path), str(prepared), str(work / "sj.zkey")))
    return row


def run(quick: bool = False) -> dict[str, Any]:
    rng = random.Random(SEED)
    powers = [12, 16] if quick else [12, 16, 20]
    out: dict[str, Any] = {"suite": "setup", "quick": quick, "machine": machine_info(), "ptau": []}
    for power in powers:
        out["ptau"].append(_ptau_row(power, rng, 12 if quick else 16))
    # phase 2 for a sponge circuit filling a 2^k domain, from a prepared ptau of power k + 1;
    # 2^12 in both modes: the queries take one variable-base multiplication per matrix entry
    # (52 s at 2^12 at load 4.5), so a 2^16 circuit would take about half an hour
    k = 12
    circuit = sponge_circuit(k, rng)
    r1cs = compile_r1cs(circuit)
    pot, prepare_s = _timed(lambda: phase1.contribute(phase1.new(k + 1), "bench", rng=rng, prepare=True))
    zk, setup_s = _timed(lambda: phase2.setup(r1cs, pot, ptau_verified=True))
    zk, contribute_s = _timed(lambda: phase2.contribute(zk, "bench", rng=rng))
    _, verify_s = _timed(lambda: phase2.verify(zk, r1cs, pot, ptau_verified=True))
    pk = zk.proving_key()
    key_bytes = pk.to_bytes()
    _, key_load_s = _timed(lambda: ProvingKey.from_bytes(key_bytes))
    # prepare_ptau_s: new + the first contribution filling sections 12-15 (phase1.contribute prepare=True)
    out["phase2"] = {"log_size": k, "constraints": r1cs.n_constraints, "prepare_ptau_s": prepare_s,
                     "setup_s": setup_s, "contribute_s": contribute_s, "verify_s": verify_s,
                     "proving_key_bytes": len(key_bytes), "key_load_s": key_load_s,
                     "loadavg": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        small = compile_r1cs(sponge_circuit(12, rng))
        write_r1cs(work / "c.r1cs", small)
        small_pot = phase1.contribute(phase1.new(13), "bench", rng=rng, prepare=True)
        ptau.save(small_pot, work / "p.ptau")
        row = _snarkjs_row(12, work, work / "c.r1cs", work / "p.ptau")
        ours = next(r for r in out["ptau"] if r["power"] == 12)
        _, row["zkagg_groth16_setup_s"] = _timed(lambda: phase2.setup(small, small_pot, ptau_verified=True))
        row["zkagg_contribute_s"] = ours["contribute_s"]
        if "snarkjs_contribute_s" in row:
            row["contribute_ratio"] = row["snarkjs_contribute_s"] / row["zkagg_contribute_s"]
            row["groth16_setup_ratio"] = row["snarkjs_groth16_setup_s"] / row["zkagg_groth16_setup_s"]
        out["snarkjs"] = row
    return out


def table(result: dict[str, Any]) -> str:
    lines = ["Powers of tau (seconds; load average in the last column). first: the first contribution",
             "(fresh file, fixed base); +prep: the same filling sections 12-15; next: a later one",
             "  power   first   verify   first+verify   +prep    next   load   MB   load avg"]
    for r in result["ptau"]:
        nxt = f"{r['contribute_next_s']:7.1f}" if "contribute_next_s" in r else "      -"
        lines.append(f"  2^{r['power']:<4d} {r['contribute_s']:7.1f} {r['verify_s']:8.1f} {r['contribute_verify_s']:14.1f}"
                     f" {r.get('contribute_prepare_s', float('nan')):7.1f} {nxt} {r['load_s']:6.1f}"
                     f" {r['bytes'] / 2**20:5.0f} {r['loadavg']:9.1f}")
    p = result["phase2"]
    lines.append(f"Phase 2, sponge circuit of {p['constraints']} constraints (2^{p['log_size']}): prepare ptau "
                 f"{p['prepare_ptau_s']:.1f}, setup {p['setup_s']:.1f}, contribute {p['contribute_s']:.1f}, "
                 f"verify {p['verify_s']:.1f}; key {p['proving_key_bytes'] / 2**20:.1f} MB loads in "
                 f"{p['key_load_s']:.2f} s")
    s = result["snarkjs"]
    if "snarkjs_contribute_s" in s:
        lines.append(f"snarkjs at 2^12: powersoftau contribute {s['snarkjs_contribute_s']:.1f} s "
                     f"(zkagg {s['zkagg_contribute_s']:.1f} s, {s['contribute_ratio']:.1f}x), groth16 setup "
                     f"{s['snarkjs_groth16_setup_s']:.1f} s (zkagg {s['zkagg_groth16_setup_s']:.1f} s, "
                     f"{s['groth16_setup_ratio']:.1f}x)")
    else:
        lines.append(f"snarkjs: skipped ({s.get('skipped', '')})")
    return "\n".join(lines)

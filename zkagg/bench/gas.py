"""`zkagg bench gas`: gas of every ledger operation, and of the snarkjs verifier for the same key.

A job with `slots` clients runs real rounds (secure aggregation through the contract, every chunk
proved) for 1, 2 and 8 chunks; each transaction's gas is taken from its receipt. The peer is
snarkjs's own Solidity template (`templates/verifier_groth16.sol.ejs` of the pinned snarkjs)
rendered with ejs from our verifying key's `verification_key.json`: snarkjs's exporter reads the
key out of a .zkey, which zkagg's keys are not written as, so the template is rendered directly
— the same contract `snarkjs zkey export solidityverifier` would print for that key. It and
zkagg's standalone verifier (`zkagg export solidity`) are compiled with the same solc and
settings, deployed, and sent one verifyProof transaction each.
"""

from __future__ import annotations

import json
import secrets
import statistics
import subprocess
from typing import Any

import numpy as np

from ..aggregation import AggregationJob, prove_round, public_inputs, slots
from ..chain.client import Chain, artifact
from ..chain.compile import SETTINGS, solc
from ..chain.ledger import ChainLedger
from ..chain.verifier import proof_calldata, render_verifier
from ..errors import ProofError
from ..groth16 import VerifyingKey
from ..secagg import Quantization, SecAggConfig, simulate_round
from . import npm
from .timing import machine_info

SEED = 20261122
QUANTIZATION = Quantization(bits=16, frac_bits=12, clip=4.0)
MAX_WEIGHT = 1000
CHUNKS = (1, 2, 8)

_RENDER = """
const ejs = require(process.argv[1]);
const fs = require('fs');
const vk = JSON.parse(fs.readFileSync(0, 'utf8'));
process.stdout.write(ejs.render(fs.readFileSync(process.argv[2], 'utf8'), vk));
"""


def job_for(slots: int, chunks: int) -> AggregationJob:
    probe = SecAggConfig(job_id=bytes(32), n_clients=slots, model_length=1, quantization=QUANTIZATION,
                         max_weight=MAX_WEIGHT, neighbours=min(3, slots - 1))
    config = SecAggConfig(job_id=secrets.token_bytes(32), n_clients=slots,
                          model_length=probe.per_element * 2 * chunks, quantization=QUANTIZATION,
                          max_weight=MAX_WEIGHT, neighbours=min(3, slots - 1))
    return AggregationJob(config, chunk_len=2)


def _gas(chain: Chain, name: str, since: int) -> list[int]:
    return [g for n, g in chain.gas_log[since:] if n == name]


def measure_round(chain: Chain, slots_n: int, chunks: int) -> dict[str, Any]:
    """One job with `chunks` chunks: creation, enrollment, one round end to end."""
    job = job_for(slots_n, chunks)
    pk = job.insecure_single_party_setup()
    start = len(chain.gas_log)
    ledger = ChainLedger.create(chain, job, pk.vk, reward_per_round=10**15, pool=10**17)
    rng = np.random.default_rng(SEED)  # benchmark data, not key material
    cfg = job.config
    updates = {c: (rng.normal(0, 0.5, cfg.model_length), int(rng.integers(1, MAX_WEIGHT)))
               for c in range(slots_n)}
    result = simulate_round(cfg, updates, ledger=ledger, commit=job.commit)
    proof = prove_round(job, pk, result, ledger)
    ledger.accept_round(cfg.job_id, 0, proof)
    ledger.contract.withdraw_reward(cfg.job_id, 0, ledger.clients[0])
    ledger.contract.end_job(cfg.job_id, ledger.aggregator)
    out: dict[str, Any] = {
        "chunks": chunks,
        "deploy_verifier": _gas(chain, "deploy", start)[-1],
        "create_job": _gas(chain, "createJob", start)[0],
        "enroll": max(_gas(chain, "enroll", start)),
        "post_mask_set": _gas(chain, "postMaskSet", start)[0],
        "mask_commitment": max(_gas(chain, "postMaskCommitment", start)),
        "close_masking": _gas(chain, "closeMasking", start)[0],
        "submission": max(_gas(chain, "submit", start)),
        "submission_mean": statistics.mean(_gas(chain, "submit", start)),
        "close_submissions": _gas(chain, "closeSubmissions", start)[0],
        "accept_round": _gas(chain, "acceptRound", start)[0],
        "withdraw_reward": _gas(chain, "withdrawReward", start)[0],
        "end_job": _gas(chain, "endJob", start)[0],
        # round keys are signed off-chain with the enrolled account (EIP-191): no gas
        "key_advert": 0,
    }
    # what one client pays per round: its key advert, its mask commitment and its submission
    out["client_per_round"] = out["key_advert"] + out["mask_commitment"] + out["submission"]
    out["_job"] = (job, pk.vk, proof, slots(job, ledger, 0))
    return out


def measure_round_v2(chain: Chain, n: int, d: int, seed: int = SEED) -> dict[str, Any]:
    """One v2 round at (n, d) through JobLedger's v2 path: KZG point digests posted by the
    clients, one dropped client, acceptRoundV2 with the revealed points (chunks fitting a 2^19
    domain; the SRS and chunk key are single-party here: gas does not depend on them)."""
    import random

    from .. import kzg
    from ..aggregation.kzg_round import ChunkProver
    from ..aggregation.pipeline import KzgJob
    from ..secagg import DropPoint
    from .round_v2 import chunking
    from .round_v2 import config as v2_config

    rng = random.Random(seed)
    cfg = v2_config(n, d)
    shape = chunking(cfg.n_elements)
    srs = kzg.Srs.insecure_from_tau(kzg.random_tau(rng), shape.blind_index + 1)
    job = KzgJob(cfg, shape, srs, ChunkProver.insecure_single_party_setup(shape.chunk_len, rng))
    start = len(chain.gas_log)
    ledger = ChainLedger.create_v2(chain, job)
    data = np.random.default_rng(seed)  # benchmark data, not key material
    updates = {c: (data.normal(0, 0.5, d), int(data.integers(1, MAX_WEIGHT))) for c in range(n)}
    result = simulate_round(cfg, updates, ledger=ledger, commit=job.committer(ledger),
                            dropouts={n - 1: DropPoint.AFTER_MASK_COMMITMENT})
    job.publish(result, ledger)
    out: dict[str, Any] = {
        "n": n, "d": d, "chunks": shape.n_chunks, "chunk_len": shape.chunk_len, "dropped": 1,
        "deploy_round_check": _gas(chain, "deploy", start)[-1],
        "create_job": _gas(chain, "createJobV2", start)[0],
        "mask_commitment": max(_gas(chain, "postMaskCommitment", start)),
        "submission": max(_gas(chain, "submit", start)),
        "close_submissions": _gas(chain, "closeSubmissions", start)[0],
        "accept_gas": _gas(chain, "acceptRoundV2", start)[0],
    }
    out["client_gas_per_round"] = out["mask_commitment"] + out["submission"]  # the key advert is signed off-chain
    return out


def snarkjs_source(vk: VerifyingKey) -> str:
    """snarkjs's Groth16 Solidity template rendered with ejs for `vk`."""
    root = npm.package("snarkjs") / "node_modules"
    template = root / "snarkjs" / "templates" / "verifier_groth16.sol.ejs"
    proc = subprocess.run(["node", "-e", _RENDER, str(root / "ejs"), str(template)],
                          input=json.dumps(vk.to_snarkjs()), capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise npm.NodeUnavailableError(f"rendering snarkjs's template failed: {proc.stderr[-2000:]}")
    return proc.stdout


def _deploy_compiled(chain: Chain, source: str, name: str, sender: Any, deployer: str | None = None) -> Any:
    """Compile `source` and deploy `deployer` (default: `name`); the contract at the address is
    called with `name`'s ABI."""
    out = solc({f"{name}.sol": source}, SETTINGS)
    units = out["contracts"][f"{name}.sol"]
    code = bytes.fromhex(units[deployer or name]["evm"]["bytecode"]["object"])
    address = chain.deploy(code, sender, gas=6_000_000)
    return chain.w3.eth.contract(address=address, abi=units[name]["abi"])  # type: ignore[call-overload]


def measure_single(chain: Chain, vk: VerifyingKey, proof: Any, inputs: list[int]) -> dict[str, Any]:
    """One verifyProof transaction: zkagg's standalone verifier and snarkjs's, same key and proof."""
    sender = chain.new_account()
    ours = _deploy_compiled(chain, render_verifier(vk, "ZkaggVerifier"), "ZkaggVerifier", sender,
                            "ZkaggVerifierDeployer")
    ours_deploy = chain.gas_log[-1][1]
    words = proof_calldata(proof)
    chain.transact(ours.functions.verifyProof(words, inputs), sender, gas=2_000_000)
    ours_gas = chain.gas_log[-1][1]
    theirs = _deploy_compiled(chain, snarkjs_source(vk), "Groth16Verifier", sender)
    theirs_deploy = chain.gas_log[-1][1]
    args = (words[0:2], [words[2:4], words[4:6]], words[6:8], inputs)
    if not chain.call(theirs.functions.verifyProof(*args)):
        raise ProofError("snarkjs's verifier rejects the proof")
    chain.transact(theirs.functions.verifyProof(*args), sender, gas=2_000_000)
    theirs_gas = chain.gas_log[-1][1]
    return {"n_public": vk.n_public, "zkagg_verify": ours_gas, "snarkjs_verify": theirs_gas,
            "zkagg_deploy": ours_deploy, "snarkjs_deploy": theirs_deploy,
            "verify_ratio": theirs_gas / ours_gas}


def run(*, slots: int = 4, chunks: tuple[int, ...] = CHUNKS, rpc: str | None = None,
        v2: tuple[tuple[int, int], ...] = ((8, 10**5),)) -> dict[str, Any]:
    chain = Chain.connect(rpc) if rpc else Chain.embedded()
    v2_rounds = [measure_round_v2(chain, n, d) for n, d in v2]
    rounds = [measure_round(chain, slots, m) for m in chunks]
    ledger_deploys = [g for n, g in chain.gas_log if n == "deploy"]
    job, vk, proof, record = rounds[0].pop("_job")
    for r in rounds[1:]:
        r.pop("_job")
    first = proof.chunks[0]
    inputs = public_inputs(job.config.job_id, 0, 0, record, first.output)
    single = measure_single(chain, vk, first.proof, inputs)
    by_m = {r["chunks"]: r["accept_round"] for r in rounds}
    out: dict[str, Any] = {
        "suite": "gas", "machine": machine_info(), "backend": "json-rpc" if rpc else "embedded",
        "solc": artifact("JobLedger")["compiler"]["solc"], "slots": slots,
        "deploy_ledger": ledger_deploys[0], "rounds": rounds, "single_proof": single, "v2_rounds": v2_rounds,
        "snarkjs_peer": "snarkjs's verifier_groth16.sol.ejs rendered with our verification_key.json",
    }
    if 1 in by_m and len(by_m) > 1:
        m_max = max(by_m)
        out["accept_per_further_chunk"] = (by_m[m_max] - by_m[1]) / (m_max - 1)
        # snarkjs: one verifyProof transaction per chunk, and no ledger work at all
        out["ratios"] = {f"snarkjs_{m}_chunks_over_accept": m * single["snarkjs_verify"] / g
                         for m, g in sorted(by_m.items())}
    return out


def table(result: dict[str, Any]) -> str:
    rows = [f"gas ({result['backend']} EVM, {result['slots']} slots, solc {result['solc']})",
            f"  deploy ledger            {result['deploy_ledger']:>10,}"]
    first = result["rounds"][0]
    for key in ("deploy_verifier", "create_job", "enroll", "post_mask_set", "key_advert", "mask_commitment",
                "close_masking", "submission", "close_submissions", "withdraw_reward", "end_job",
                "client_per_round"):
        rows.append(f"  {key:<24} {first[key]:>10,}")
    for r in result["rounds"]:
        rows.append(f"  accept_round, {r['chunks']} chunk(s)   {r['accept_round']:>10,}")
    for r in result.get("v2_rounds", []):
        rows.append(f"  v2 (n={r['n']}, d={r['d']:.0e}, m={r['chunks']}): accept {r['accept_gas']:,}, "
                    f"client per round {r['client_gas_per_round']:,}")
    if "accept_per_further_chunk" in result:
        rows.append(f"  per further chunk        {result['accept_per_further_chunk']:>10,.0f}")
    s = result["single_proof"]
    rows.append(f"  one proof, {s['n_public']} public inputs: zkagg verifyProof {s['zkagg_verify']:,}, "
                f"snarkjs verifyProof {s['snarkjs_verify']:,} ({s['verify_ratio']:.2f}x)")
    for k, v in result.get("ratios", {}).items():
        rows.append(f"  {k}: {v:.2f}x")
    return "\n".join(rows)

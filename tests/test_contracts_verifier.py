"""The Groth16 verifier contract: the shipped artifact (key appended at deployment) and the
standalone export, against zkagg's Python verifier — same accepts, named errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from zkagg.aggregation import public_inputs
from zkagg.bn254.constants import FR_MODULUS
from zkagg.bn254.field import FrArray
from zkagg.chain import compile as compile_mod
from zkagg.chain.client import Chain, ContractRevert, artifact, deploy_verifier, verifier_contract
from zkagg.chain.verifier import (
    deploy_code,
    key_from_words,
    key_words,
    proof_calldata,
    render_verifier,
)
from zkagg.cli import main
from zkagg.groth16 import verify

from .chain_support import BACKENDS, empty_slots, new_chain, shared_job
from .test_chain_ledger import VECTORS, _prove_with

Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583


def test_artifacts_match_their_sources() -> None:
    """The shipped artifacts were built from the current sources (no Node.js needed here)."""
    digest = compile_mod.source_hash(compile_mod.sources())
    for name in compile_mod.CONTRACTS:
        art = artifact(name)
        assert art["sourceHash"] == digest, f"{name}.json is stale: run python -m zkagg.chain.compile"
        assert art["compiler"] == {"solc": compile_mod.SOLC_VERSION, "settings": compile_mod.SETTINGS}


def test_recompiling_reproduces_the_artifacts() -> None:
    built = compile_mod.build()
    for name in compile_mod.CONTRACTS:
        for field in ("abi", "bytecode", "deployedBytecode"):
            assert built[name][field] == artifact(name)[field], f"{name}.{field} is stale"


@pytest.fixture(scope="module", params=BACKENDS)
def chain(request: pytest.FixtureRequest) -> Chain:
    return new_chain(request.param)


@pytest.fixture(scope="module")
def case() -> tuple[Any, Any, list[list[int]], list[list[int]]]:
    """The shared job's key, two chunk proofs of an all-empty round and their public inputs."""
    job, pk = shared_job()
    zero = FrArray.zeros(job.config.n_elements)
    record = empty_slots(job)
    proof = _prove_with(job, pk, 0, record, [zero] * job.config.n_clients)
    inputs = [public_inputs(job.config.job_id, 0, c.chunk, record, c.output) for c in proof.chunks]
    return pk.vk, proof, [proof_calldata(c.proof) for c in proof.chunks], inputs


def _standalone(chain: Chain, vk: Any) -> Any:
    out = compile_mod.solc({"V.sol": render_verifier(vk, "V")})
    code = bytes.fromhex(out["contracts"]["V.sol"]["VDeployer"]["evm"]["bytecode"]["object"])
    address = chain.deploy(code, chain.new_account(), gas=6_000_000)
    return chain.w3.eth.contract(address=address, abi=out["contracts"]["V.sol"]["V"]["abi"])


def _reverts(chain: Chain, call: Any, error: str) -> dict[str, Any]:
    with pytest.raises(ContractRevert) as info:
        chain.call(call)
    assert info.value.error == error, str(info.value)
    return info.value.values


def test_calldata_is_the_evm_order(case: Any) -> None:
    _, proof, words, _ = case
    p = proof.chunks[0].proof
    assert words[0] == [p.a.x, p.a.y, p.b.x[1], p.b.x[0], p.b.y[1], p.b.y[0], p.c.x, p.c.y]
    key = key_words(case[0])
    assert key_from_words(key) == case[0] and len(key) == 14 + 2 * len(case[0].ic)


@pytest.mark.parametrize("flavour", ["shipped", "standalone"])
def test_verifier_contract(chain: Chain, case: Any, flavour: str) -> None:
    vk, proof, words, inputs = case
    if chain.is_embedded and flavour == "standalone":
        pytest.skip("a pairing costs seconds on py-evm: the standalone export runs on anvil")
    if flavour == "shipped":
        v = verifier_contract(chain, deploy_verifier(chain, vk, chain.new_account()))
    else:
        v = _standalone(chain, vk)
    f = v.functions
    assert key_from_words(list(chain.call(f.verifyingKey()))) == vk
    assert chain.call(f.nPublic()) == vk.n_public
    assert all(verify(vk, x, pr.proof) for x, pr in zip(inputs, proof.chunks))
    assert chain.call(f.verifyProof(words[0], inputs[0])) is True
    n = vk.n_public
    # every public input is bound, and none is reduced mod r
    assert _reverts(chain, f.verifyProof(words[0], [inputs[0][0] + 1, *inputs[0][1:]]), "ProofInvalid") == {}
    aliased = [*inputs[0][:3], inputs[0][3] + FR_MODULUS, *inputs[0][4:]]
    assert _reverts(chain, f.verifyProof(words[0], aliased), "InputNotInField") == {"index": 3}
    assert _reverts(chain, f.verifyProof(words[0], inputs[0][:-1]), "WrongInputCount") == {"expected": n, "got": n - 1}
    if not chain.is_embedded:
        assert _reverts(chain, f.verifyProof(words[1], inputs[0]), "ProofInvalid") == {}
    bad = [Q, *words[0][1:]]
    assert _reverts(chain, f.verifyProof(bad, inputs[0]), "InvalidPoint") == {"proof": 0}
    off = [int(c) for c in VECTORS["negative"]["g1_off_curve"][0]]
    _reverts(chain, f.verifyProof([*words[0][:6], *off], inputs[0]), "InvalidPoint")

    # the batch: both chunks in one pairing check; the middle inputs folded into `base`
    ic = vk.ic
    base = ic[0]
    for k, x in enumerate(inputs[0][1:-1]):
        base = base + ic[2 + k] * x
    flat = words[0] + words[1]
    firsts, lasts = [x[0] for x in inputs], [x[-1] for x in inputs]
    assert chain.call(f.verifyBatch(flat, [base.x, base.y], firsts, lasts)) is True
    moved = base + ic[2]
    _reverts(chain, f.verifyBatch(flat, [moved.x, moved.y], firsts, lasts), "ProofInvalid")
    if not chain.is_embedded:
        _reverts(chain, f.verifyBatch(words[1] + words[0], [base.x, base.y], firsts, lasts), "ProofInvalid")
        _reverts(chain, f.verifyBatch(flat, [base.x, base.y], firsts, [lasts[0], lasts[1] + 1]), "ProofInvalid")
    assert _reverts(chain, f.verifyBatch(flat, [base.x, base.y], firsts, [lasts[0], lasts[1] + FR_MODULUS]),
                    "InputNotInField") == {"index": 2 * n - 1}
    _reverts(chain, f.verifyBatch(flat[:8], [base.x, base.y], firsts, lasts), "WrongInputCount")
    _reverts(chain, f.verifyBatch(flat, [1, 3], firsts, lasts), "InvalidPoint")


def test_a_verifier_without_a_key_refuses(chain: Chain) -> None:
    runtime = bytes.fromhex(artifact("Groth16Verifier")["deployedBytecode"][2:])
    prefix = deploy_code(runtime, shared_job()[1].vk)[:12]
    bare = prefix[:1] + len(runtime).to_bytes(2, "big") + prefix[3:] + runtime
    address = chain.deploy(bare, chain.new_account(), gas=3_000_000)
    _reverts(chain, verifier_contract(chain, address).functions.nPublic(), "KeyMissing")


def test_export_solidity_cli(tmp_path: Path) -> None:
    vk = shared_job()[1].vk
    (tmp_path / "vk.bin").write_bytes(vk.to_bytes())
    (tmp_path / "vk.json").write_text(json.dumps(vk.to_snarkjs()))
    assert main(["export", "solidity", str(tmp_path / "vk.bin"), "-o", str(tmp_path / "a.sol")]) == 0
    assert main(["export", "solidity", str(tmp_path / "vk.json"), "-o", str(tmp_path / "b.sol")]) == 0
    source = (tmp_path / "a.sol").read_text()
    assert source == (tmp_path / "b.sol").read_text() == render_verifier(vk)
    assert "contract Groth16VerifierDeployer" in source and "{{" not in source

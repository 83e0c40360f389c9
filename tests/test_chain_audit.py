"""The auditor and the content-addressed store: an honest job passes; a tampered or missing
model, or a tampered masked vector, is caught."""

from __future__ import annotations

from pathlib import Path

import pytest

from zkagg.aggregation import prove_round
from zkagg.bn254.field import FrArray
from zkagg.chain.audit import audit
from zkagg.chain.client import Chain, LedgerContract
from zkagg.chain.ledger import ChainLedger
from zkagg.chain.store import ContentStore, DirectoryStore, Model, StoreError
from zkagg.cli import main
from zkagg.errors import InputError
from zkagg.secagg import DropPoint

from .chain_support import BACKENDS, new_chain, run_round, shared_job, with_job_id


@pytest.fixture(scope="module", params=BACKENDS)
def chain(request: pytest.FixtureRequest) -> Chain:
    return new_chain(request.param)


@pytest.fixture(scope="module")
def honest(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> tuple[ChainLedger, bytes, Path, list[bytes]]:
    """A job with two accepted rounds (one with a dropout) and an unfinished third; models stored."""
    job, pk = shared_job()
    job = with_job_id(job)
    contract = LedgerContract.deploy(chain, chain.new_account())
    ledger = ChainLedger.create(chain, job, pk.vk, contract=contract)
    root = tmp_path_factory.mktemp("store")
    store = ContentStore(DirectoryStore(root))
    hashes = []
    for r, drops in ((0, {1: DropPoint.AFTER_MASK_COMMITMENT}), (1, {})):
        result = run_round(ledger, job, r, drops)
        for k, y in result.inputs.items():
            if k in result.survivors:
                assert store.put_masked(y, job.chunk_len) in [c for c, _ in ledger.submissions(job.config.job_id, r).values()]
        proof = prove_round(job, pk, result, ledger)
        digest = ledger.accept_round(job.config.job_id, r, proof)
        assert store.put_model(Model(proof.aggregate, proof.total_weight, job.layout.chunk_len)) == digest
        hashes.append(digest)
    ledger.post_mask_set(job.config.job_id, 2, 0, (0, 1))
    return ledger, job.config.job_id, root, hashes


def test_an_honest_job_passes(honest: tuple[ChainLedger, bytes, Path, list[bytes]]) -> None:
    ledger, job_id, root, hashes = honest
    report = audit(ledger.contract, job_id, ContentStore(DirectoryStore(root)))
    assert report.ok, report.format()
    assert [r.status for r in report.rounds] == ["accepted", "accepted", "masking"]
    assert [r.model_hash for r in report.rounds[:2]] == hashes
    assert report.rounds[0].dropped == (1,) and report.rounds[0].proofs_verified == 2
    assert "audit passed" in report.format()


def test_a_tampered_or_missing_model_fails(honest: tuple[ChainLedger, bytes, Path, list[bytes]],
                                           tmp_path: Path) -> None:
    ledger, job_id, root, hashes = honest
    copy = tmp_path / "store"
    for f in root.rglob("*"):
        if f.is_file():
            (copy / f.relative_to(root)).parent.mkdir(parents=True, exist_ok=True)
            (copy / f.relative_to(root)).write_bytes(f.read_bytes())
    first = copy / "model" / hashes[0].hex()
    data = bytearray(first.read_bytes())
    data[-1] ^= 1  # one bit of the last aggregate element
    first.write_bytes(bytes(data))
    (copy / "model" / hashes[1].hex()).unlink()
    report = audit(ledger.contract, job_id, ContentStore(DirectoryStore(copy)))
    assert not report.ok
    assert any("does not match its hash" in p for p in report.rounds[0].problems)
    assert any("missing" in p for p in report.rounds[1].problems)
    assert "audit FAILED" in report.format()


def test_audit_cli(chain: Chain, honest: tuple[ChainLedger, bytes, Path, list[bytes]], tmp_path: Path,
                   capsys: pytest.CaptureFixture[str]) -> None:
    if chain.is_embedded:
        pytest.skip("the CLI reaches a node by URL: anvil only")
    ledger, job_id, root, _ = honest
    url = chain.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    args = ["audit", "--rpc", url, "--ledger", ledger.contract.address, "--job", job_id.hex()]
    assert main([*args, "--store", str(root)]) == 0
    assert "audit passed" in capsys.readouterr().out
    assert main([*args, "--store", str(tmp_path)]) == 1  # an empty store: every model missing


def test_store_validates_what_it_reads(tmp_path: Path) -> None:
    job, _ = shared_job()
    store = ContentStore(DirectoryStore(tmp_path))
    y = FrArray.from_ints(range(1, job.config.n_elements + 1))
    key = store.put_masked(y, job.chunk_len)
    assert key == job.commit(y) and store.get_masked(key) == y
    assert store.get_masked(key + 1) is None
    path = tmp_path / "masked" / f"{key:064x}"
    path.write_bytes(path.read_bytes()[:-32] + (5).to_bytes(32, "big"))
    with pytest.raises(StoreError, match="does not match"):
        store.get_masked(key)
    path.write_bytes(b"zkaggCA1")
    with pytest.raises(StoreError):
        store.get_masked(key)
    with pytest.raises(InputError):
        DirectoryStore(tmp_path).get("../etc/passwd")


def test_a_stored_header_cannot_name_a_chunk_beyond_the_vector(tmp_path: Path) -> None:
    store = ContentStore(DirectoryStore(tmp_path))
    vector = FrArray.from_ints([1, 2, 3])
    key = store.put_masked(vector, 1 << 20)  # clamped to the vector, as the job's layout is
    assert store.get_masked(key) == vector
    path = tmp_path / "masked" / f"{key:064x}"
    data = bytearray(path.read_bytes())
    data[:-96] = data[:-96][:-4] + (1 << 31).to_bytes(4, "big")  # the header's chunk length
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="chunk length"):
        store.get_masked(key)

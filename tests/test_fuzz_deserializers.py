"""Hostile input for every deserializer: messages, keys (bytes and snarkjs JSON), proofs, shares,
journal records and journal files. Each input either decodes to a valid object or raises a named
error (a ZkaggError subclass) — never another exception — and a receiver that refuses it is left
exactly as it was.

Bounded for CI (FUZZ_EXAMPLES per property, 60 by default); for a long run set
ZKAGG_FUZZ_EXAMPLES, e.g. `ZKAGG_FUZZ_EXAMPLES=20000 python -m pytest tests/test_fuzz_deserializers.py`.
New deserializers join by adding a row to `byte_decoders` or a test calling `assert_named`; the
contract's entry points are fuzzed in test_chain_fuzz.py.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.strategies import EDGES
from zkagg.aggregation import AggregationJob, prove_round
from zkagg.durable import DurableAggregator
from zkagg.durable.records import (
    LedgerWrite,
    decode_proof,
    decode_write,
    encode_proof,
    encode_write,
)
from zkagg.errors import ZkaggError
from zkagg.groth16 import Proof, ProvingKey, VerifyingKey
from zkagg.ledger import MemoryLedger, Outcome
from zkagg.secagg import Aggregator, Client, ClientStage, SecAggConfig, simulate_round
from zkagg.secagg.keys import Context, decrypt_shares
from zkagg.secagg.messages import decode, encode

FUZZ_EXAMPLES = int(os.environ.get("ZKAGG_FUZZ_EXAMPLES", "60"))
fuzz = settings(max_examples=FUZZ_EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])

U32_EDGES = [0, 1, 2, 255, 1 << 16, (1 << 24) + 1, (1 << 31), (1 << 32) - 1]


def assert_named(decode_fn: Callable[[Any], Any], data: Any) -> Any:
    """Decode hostile data: a value or a named error, nothing else."""
    try:
        return decode_fn(data)
    except ZkaggError:
        return None


@st.composite
def mutated(draw: st.DrawFn, samples: list[bytes]) -> bytes:
    """A valid encoding with 1–4 edits: flipped bytes, cuts, insertions, deletions, and length or
    count fields overwritten with edge values."""
    data = bytearray(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["flip", "cut", "insert", "delete", "u32", "field"]))
        if edit == "flip" and i < len(data):
            data[i] ^= draw(st.integers(1, 255))
        elif edit == "cut":
            del data[i:]
        elif edit == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=40))
        elif edit == "delete":
            del data[i : i + draw(st.integers(1, 40))]
        elif edit == "u32":
            data[i : i + 4] = draw(st.sampled_from(U32_EDGES)).to_bytes(4, "big")
        else:  # a 32-byte value at an edge: 0, 1, r - 1, r, 2^256 - 1, ...
            value = draw(st.sampled_from([*EDGES[:8], EDGES[-1] + 1, (1 << 256) - 1]))
            data[i : i + 32] = (value % (1 << 256)).to_bytes(32, "big")
    return bytes(data)


def hostile(samples: list[bytes]) -> st.SearchStrategy[bytes]:
    return st.one_of(mutated(samples), st.binary(max_size=200))


# -- shared material: a small job, its keys, a proof and a finished round ---------------------------

class Material:
    def __init__(self) -> None:
        config = SecAggConfig(job_id=secrets.token_bytes(32), n_clients=3, model_length=9, neighbours=2)
        self.job = AggregationJob(config, chunk_len=1)
        self.pk = self.job.insecure_single_party_setup()
        ledger = MemoryLedger()
        ledger.open_job(config.job_id, 3, config.max_weight, self.job.verifier(self.pk.vk))
        rng = np.random.default_rng(3)  # test data only
        updates = {c: (rng.uniform(-1, 1, 9), 5) for c in range(3)}
        self.result = simulate_round(config, updates, ledger=ledger, commit=self.job.commit)
        self.proof = prove_round(self.job, self.pk, self.result, ledger)
        self.ledger = ledger


@pytest.fixture(scope="module")
def material() -> Material:
    return Material()


def byte_decoders(m: Material) -> dict[str, tuple[Callable[[bytes], Any], list[bytes]]]:
    chunk = m.proof.chunks[0]
    writes = [LedgerWrite("post_mask_set", (0, (0, 1, 2)), None), LedgerWrite("close_masking", (0,), (0, 1, 2)),
              LedgerWrite("close_submissions", (), Outcome((0, 2), (1,))),
              LedgerWrite("accept_round", (m.proof.model_hash,), m.proof.model_hash)]
    return {
        "verifying key": (VerifyingKey.from_bytes, [m.pk.vk.to_bytes()]),
        "proving key": (ProvingKey.from_bytes, [m.pk.to_bytes()]),
        "proof": (Proof.from_bytes, [chunk.proof.to_bytes()]),
        "ledger record": (decode_write, [encode_write(w) for w in writes]),
        "proof record": (decode_proof, [encode_proof(chunk)]),
    }


@pytest.mark.parametrize("name", ["verifying key", "proving key", "proof", "ledger record", "proof record"])
def test_byte_deserializers_return_a_value_or_a_named_error(material: Material, name: str) -> None:
    decode_fn, samples = byte_decoders(material)[name]
    for sample in samples:  # the valid encodings round-trip
        assert decode_fn(sample) is not None

    @fuzz
    @given(hostile(samples))
    def check(data: bytes) -> None:
        assert_named(decode_fn, data)

    check()


# -- snarkjs JSON -------------------------------------------------------------------------------

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(1 << 70), 1 << 300), st.floats(),
                      st.sampled_from(["", "0", "1", "-1", "²", "٣", "1e5", "0x10", " 1", "9" * 5000,
                                       str((1 << 256) - 1), "21888242871839275222246405745257275088696311157297823662689037894645226208583"]),
                      st.text(max_size=10))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every position in a JSON value: containers and leaves."""
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    out = [prefix] if prefix else []
    for key, child in children:
        out += _paths(child, (*prefix, key))
    return out


@st.composite
def mutated_json(draw: st.DrawFn, sample: dict[str, Any]) -> Any:
    """The sample with 1–3 positions replaced by hostile values, or removed."""
    obj = copy.deepcopy(sample)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(obj)
        if not paths:
            break
        *parents, key = draw(st.sampled_from(paths))
        node = obj
        for k in parents:
            node = node[k]
        if isinstance(node, dict) and draw(st.integers(0, 7)) == 0:
            del node[key]
        else:
            node[key] = draw(json_value)
    return obj


@pytest.mark.parametrize("kind", ["verifying key", "proof"])
def test_snarkjs_json_returns_a_value_or_a_named_error(material: Material, kind: str) -> None:
    if kind == "verifying key":
        decode_fn: Callable[[Any], Any] = VerifyingKey.from_snarkjs
        sample = material.pk.vk.to_snarkjs()
    else:
        decode_fn, sample = Proof.from_snarkjs, material.proof.chunks[0].proof.to_snarkjs()
    assert decode_fn(json.loads(json.dumps(sample))) is not None

    @fuzz
    @given(st.one_of(mutated_json(sample), json_value))
    def check(obj: Any) -> None:
        assert_named(decode_fn, obj)

    check()


# -- messages and the state machines that receive them -------------------------------------------

def snapshot(party: Any) -> Any:
    """Everything a party holds, except its ledger handle and commitment function."""
    return {k: v for k, v in vars(party).items() if k not in ("ledger", "commit")}


def fingerprint(party: Any) -> str:
    return repr(sorted((k, repr(v)) for k, v in snapshot(party).items()))


def test_messages_to_an_aggregator_are_accepted_or_refused_without_a_trace(material: Material) -> None:
    config = SecAggConfig(job_id=secrets.token_bytes(32), n_clients=4, model_length=9, neighbours=3)
    ledger = MemoryLedger()
    ledger.open_job(config.job_id, 4, config.max_weight)
    rng = np.random.default_rng(4)  # test data only
    clients = {c: Client(config, ledger, c, 0, rng.uniform(-1, 1, 9), 3) for c in range(4)}
    agg = Aggregator(config, ledger, 0)
    adverts = [clients[c].start()[0] for c in range(4)]
    for advert in adverts[:3]:
        agg.handle(advert)
    samples = [encode(a) for a in adverts]
    broadcast = agg.close()  # SHARES: bundles from three clients are expected
    bundles = [encode(r) for c, msg in broadcast for r in clients[c].handle(msg)]
    samples += bundles

    @fuzz
    @given(hostile(samples))
    def check(data: bytes) -> None:
        msg = assert_named(decode, data)
        if msg is None:
            return
        before = fingerprint(agg)
        try:
            agg.handle(msg)
        except ZkaggError:
            assert fingerprint(agg) == before
        else:  # accepted: it was a valid bundle; take it back out for the next example
            agg._bundles.pop(msg.sender)

    check()


def test_share_deliveries_to_a_client_are_refused_by_name_and_change_nothing(material: Material) -> None:
    config = SecAggConfig(job_id=secrets.token_bytes(32), n_clients=3, model_length=9, neighbours=2)
    ledger = MemoryLedger()
    ledger.open_job(config.job_id, 3, config.max_weight)
    clients = {c: Client(config, ledger, c, 0, np.zeros(9), 1) for c in range(3)}
    agg = Aggregator(config, ledger, 0)
    for c in range(3):
        agg.handle(clients[c].start()[0])
    for c, msg in agg.close():
        for reply in clients[c].handle(msg):
            agg.handle(reply)
    deliveries = [encode(m) for c, m in agg.close() if c == 0 and type(m).__name__ == "ShareDelivery"]
    target = clients[0]

    @fuzz
    @given(mutated(deliveries))
    def check(data: bytes) -> None:
        msg = assert_named(decode, data)
        if msg is None or data == deliveries[0]:
            return
        before = fingerprint(target)
        try:
            target.handle(msg)
        except ZkaggError:
            assert fingerprint(target) == before
        else:  # only a delivery of fewer genuine shares passes (a neighbour may have dropped)
            assert set(msg.shares.items()) < set(decode(deliveries[0]).shares.items())
            target.stage, target._held = ClientStage.SHARED, {}


    check()


@fuzz
@given(st.binary(max_size=100), st.integers(0, (1 << 32) - 1), st.integers(0, (1 << 32) - 1))
def test_share_ciphertexts_fail_authentication_by_name(ciphertext: bytes, sender: int, receiver: int) -> None:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    key = X25519PrivateKey.generate()
    peer = X25519PrivateKey.generate().public_key().public_bytes_raw()
    assert_named(lambda c: decrypt_shares(Context(bytes(32), 0), key, sender, receiver, peer, c), ciphertext)


# -- journal files --------------------------------------------------------------------------------

def test_a_damaged_journal_file_is_refused_or_replays_the_same_round(material: Material, tmp_path: Path) -> None:
    config = SecAggConfig(job_id=secrets.token_bytes(32), n_clients=3, model_length=9, neighbours=2)
    ledger = MemoryLedger()
    ledger.open_job(config.job_id, 3, config.max_weight)
    clients = {c: Client(config, ledger, c, 0, np.zeros(9), 1) for c in range(3)}
    good = tmp_path / "good.db"
    agg = DurableAggregator(config, ledger, 0, good)
    for c in range(3):
        agg.handle(clients[c].start()[0])
    for c, msg in agg.close(0):
        for reply in clients[c].handle(msg):
            agg.handle(reply)
    expected = fingerprint(agg.machine)
    agg.shutdown()
    original = good.read_bytes()
    counter = iter(range(1 << 30))

    @fuzz
    @given(hostile([original]))
    def check(data: bytes) -> None:
        path = tmp_path / f"damaged{next(counter)}.db"
        path.write_bytes(data)
        reopened = assert_named(lambda p: DurableAggregator(config, ledger, 0, p), path)
        if reopened is not None:  # an empty file starts a new journal; else the damage missed
            assert data == b"" or fingerprint(reopened.machine) == expected
            reopened.shutdown()
        for leftover in tmp_path.glob(path.name + "*"):
            leftover.unlink()

    check()
    shutil.rmtree(tmp_path, ignore_errors=True)


# -- what comes back from the chain: calldata words, key words, revert data, stored blobs ---------

def _words(data: bytes) -> list[int]:
    return [int.from_bytes(data[i : i + 32].ljust(32, b"\0"), "big") for i in range(0, len(data), 32)]


@pytest.mark.parametrize("what", ["proof calldata", "key words", "revert data",
    "stored blobs"])
def test_chain_decoders_return_a_value_or_a_named_error(material: Material, what: str) -> None:
    pytest.importorskip("web3")
    from zkagg.chain.client import decode_revert
    from zkagg.chain.store import ContentStore, Model
    from zkagg.chain.verifier import key_from_words, key_words, proof_calldata, proof_from_calldata

    chunk = material.proof.chunks[0]
    if what == "proof calldata":
        decode_fn: Callable[[bytes], Any] = lambda data: proof_from_calldata(_words(data))  # noqa: E731
        samples = [b"".join(w.to_bytes(32, "big") for w in proof_calldata(chunk.proof))]
    elif what == "key words":
        decode_fn = lambda data: key_from_words(_words(data))  # noqa: E731
        samples = [b"".join(w.to_bytes(32, "big") for w in key_words(material.pk.vk))]
    elif what == "revert data":
        decode_fn = decode_revert
        samples = [bytes.fromhex("08c379a0") + (32).to_bytes(32, "big") + (5).to_bytes(32, "big")
                   + b"hello".ljust(32, b"\0"), bytes.fromhex("4e487b71") + (17).to_bytes(32, "big")]
    else:
        blobs: dict[str, bytes] = {}

        class Blobs:
            def put(self, key: str, data: bytes) -> None:
                blobs[key] = data

            def get(self, key: str) -> bytes | None:
                return blobs.get(key)

        store = ContentStore(Blobs())
        digest = store.put_model(Model(material.result.aggregate, material.result.total_weight, 1))
        commitment = store.put_masked(material.result.inputs[0], 1)
        masked, model = blobs[f"masked/{commitment:064x}"], blobs[f"model/{digest.hex()}"]

        assert store.get_masked(commitment) == material.result.inputs[0]
        assert store.get_model(digest) is not None

        def decode_fn(data: bytes) -> Any:  # the same hostile bytes under both keys
            blobs[f"masked/{commitment:064x}"] = blobs[f"model/{digest.hex()}"] = data
            return assert_named(store.get_masked, commitment), assert_named(store.get_model, digest)

        samples = [masked, model]
    for sample in samples:
        assert decode_fn(sample) is not None

    @fuzz
    @given(hostile(samples))
    def check(data: bytes) -> None:
        assert_named(decode_fn, data)

    check()


def test_hostile_bytes_leave_no_trace_in_a_durable_aggregator(material: Material, tmp_path: Path) -> None:
    config = SecAggConfig(job_id=secrets.token_bytes(32), n_clients=3, model_length=9, neighbours=2)
    ledger = MemoryLedger()
    ledger.open_job(config.job_id, 3, config.max_weight)
    clients = {c: Client(config, ledger, c, 0, np.zeros(9), 1) for c in range(3)}
    agg = DurableAggregator(config, ledger, 0, tmp_path / "round.db")
    adverts = [encode(clients[c].start()[0]) for c in range(3)]
    agg.handle(adverts[0])

    @fuzz
    @given(hostile(adverts))
    def check(data: bytes) -> None:
        before, entries = fingerprint(agg.machine), agg.journal.count
        try:
            accepted = agg.handle(data)
        except ZkaggError:
            assert (fingerprint(agg.machine), agg.journal.count) == (before, entries)
        else:
            assert accepted == (agg.journal.count == entries + 1)

    check()
    agg.shutdown()

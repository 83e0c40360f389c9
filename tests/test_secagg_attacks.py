"""A malicious aggregator against the protocol, on the in-memory ledger: key substitution, last-client
steering, and the rule that no survivor ever releases both kinds of share for one client.

Each attack also runs against a deliberately weakened protocol (the defence patched out) to show
that the test has teeth: there the attack succeeds.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zkagg.secagg.aggregator as aggregator_module
import zkagg.secagg.client as client_module
import zkagg.secagg.simulate as simulate_module
from zkagg.bn254.field import FrArray
from zkagg.errors import (
    DropoutError,
    KeyAuthenticationError,
    LedgerError,
    PrivacyError,
    ProtocolError,
)
from zkagg.identity import Ed25519Signer
from zkagg.ledger import Ledger, MemoryLedger
from zkagg.secagg import (
    Aggregator,
    AggregatorStage,
    Client,
    ClientStage,
    DropPoint,
    SecAggConfig,
    shamir,
    simulate_round,
)
from zkagg.secagg import encode as encode_update
from zkagg.secagg.keys import decrypt_shares, mask_private_key, raw_public
from zkagg.secagg.messages import (
    KeyBroadcast,
    MaskedInput,
    MaskSetNotice,
    Message,
    ShareBundle,
    ShareDelivery,
    UnmaskRequest,
    UnmaskShares,
    decode,
    encode,
)
from zkagg.secagg.round import Commit, default_commit, total_mask

D = 60


#: a round's setting: the config, a ledger with the job open, and the commitment function
Setting = tuple[SecAggConfig, Ledger, Commit]


def memory_setting(n: int = 4) -> Setting:
    config = SecAggConfig(job_id=secrets.token_bytes(32), n_clients=n, model_length=D, neighbours=n - 1)
    ledger = MemoryLedger()
    ledger.open_job(config.job_id, n, config.max_weight)
    return config, ledger, default_commit


def setup(seed: int = 0, setting: Setting | None = None) -> tuple[
        SecAggConfig, Ledger, dict[int, Client], Aggregator, dict[int, tuple[np.ndarray, int]]]:
    config, ledger, commit = setting or memory_setting()
    rng = np.random.default_rng(seed)  # test data only
    updates = {c: (rng.uniform(-2, 2, config.model_length), int(rng.integers(1, 100)))
               for c in range(config.n_clients)}
    clients = {c: Client(config, ledger, c, 0, u, w, commit=commit) for c, (u, w) in updates.items()}
    return config, ledger, clients, Aggregator(config, ledger, 0, commit=commit), updates


def wire(msg: Message) -> Message:
    return decode(encode(msg))


def send(agg: Aggregator, messages: list[Message]) -> None:
    for m in messages:
        agg.handle(wire(m))


@contextmanager
def weak_key_checks() -> Iterator[None]:
    """The first protocol: a client checks only that the broadcast carries its own keys."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(client_module, "check_advert", lambda *args: None)
        yield


@contextmanager
def single_masking() -> Iterator[None]:
    """The first protocol: clients upload y_u itself, right after posting c_u."""
    with pytest.MonkeyPatch.context() as mp:
        for module in (client_module, aggregator_module):
            mp.setattr(module, "self_mask", lambda ident, owner, seed, vector, sign=1: vector)
        yield


# ---- key substitution ----------------------------------------------------------------------------


def substitute(broadcast: KeyBroadcast, target: int, fake: dict[int, X25519PrivateKey],
               resign: Ed25519Signer | None) -> KeyBroadcast:
    """The target's broadcast with every other client's share key replaced by the aggregator's
    (keeping the genuine signature, or signing with the aggregator's own identity)."""
    keys = {}
    for v, (mask_key, share_key, signature) in broadcast.keys.items():
        if v != target:
            share_key = raw_public(fake[v])
            signature = resign.sign(b"any") if resign else signature
        keys[v] = (mask_key, share_key, signature)
    return KeyBroadcast(job_id=broadcast.job_id, round=broadcast.round, sender=broadcast.sender, keys=keys)


def run_key_substitution(resign: bool, setting: Setting | None = None) -> tuple[
        list[int] | None, Aggregator, dict[int, Client], FrArray]:
    """The attack of the issue: 4 clients, 60 parameters. Returns the target's packed update as
    the aggregator reads it (None if it could not), the aggregator, the clients and the truth."""
    config, ledger, clients, agg, updates = setup(setting=setting)
    target = 0
    truth = encode_update(*updates[target], config)
    fake = {v: X25519PrivateKey.generate() for v in clients if v != target}
    for c in sorted(clients):
        send(agg, clients[c].start())
    for c, msg in agg.close():
        if c == target:
            msg = substitute(msg, target, fake, Ed25519Signer.generate() if resign else None)
        try:
            send(agg, clients[c].handle(wire(msg)))
        except KeyAuthenticationError:
            assert c == target
    if target not in agg._bundles:
        # refused: the round goes on without the target
        return None, drive(agg, clients, agg.close()), clients, truth
    stolen = agg._bundles[target]  # encrypted to the aggregator's keys: it reads them
    points_seed, points_self = [], []
    for v, ciphertext in stolen.items():
        seed_share, self_share = decrypt_shares(agg.ident.context, fake[v], target, v,
                                                agg._keys[target][1], ciphertext)
        points_seed.append((v + 1, seed_share))
        points_self.append((v + 1, self_share))
    t = config.shamir_threshold
    seed, self_seed = shamir.combine(points_seed[:t]), shamir.combine(points_self[:t])
    upload: MaskedInput | None = None
    outgoing = agg.close()
    while agg.stage in (AggregatorStage.MASKING, AggregatorStage.INPUTS):
        for c, msg in outgoing:
            if isinstance(msg, ShareDelivery):  # the stolen shares go nowhere; the target gets none
                msg = ShareDelivery(job_id=msg.job_id, round=0, sender=msg.sender,
                                    shares={v: x for v, x in msg.shares.items() if target not in (v, c)})
            for reply in clients[c].handle(wire(msg)):
                if isinstance(reply, MaskedInput) and c == target:
                    upload = reply
                send(agg, [reply])
        if agg.stage is AggregatorStage.INPUTS and upload is not None:
            break
        outgoing = agg.close()
    assert upload is not None
    partners = agg._graph[target] & set(agg._members)
    mask = total_mask(agg.ident, target, mask_private_key(seed), partners, {v: k[0] for v, k in agg._keys.items()})
    read = client_module.self_mask(agg.ident, target, self_seed, upload.vector, -1) - mask
    return read.to_ints(), agg, clients, truth


def drive(agg: Aggregator, clients: dict[int, Client], outgoing: list[tuple[int, Message]]) -> Aggregator:
    """Run the round to its end with every client answering."""
    while True:
        for c, msg in outgoing:
            if isinstance(msg, ShareDelivery) or clients[c].stage is not ClientStage.ADVERTISED:
                send(agg, clients[c].handle(wire(msg)))
        if agg.stage is AggregatorStage.DONE:
            return agg
        outgoing = agg.close()


@pytest.mark.parametrize("resign", [False, True], ids=["genuine-signature", "aggregator-signature"])
def test_key_substitution_is_refused_and_the_round_goes_on_without_the_target(resign: bool) -> None:
    read, agg, clients, _ = run_key_substitution(resign)
    assert read is None
    assert clients[0].stage is ClientStage.ADVERTISED  # refused, nothing encrypted, state kept
    assert agg.result is not None and agg.result.survivors == (1, 2, 3)


def test_key_substitution_reads_the_update_exactly_when_keys_are_unchecked() -> None:
    """Negative control: with the first protocol's check the aggregator reads the target's update."""
    with weak_key_checks():
        read, _, _, truth = run_key_substitution(resign=False)
    assert read == truth.to_ints()


def test_a_forged_advert_is_refused_by_the_aggregator_and_the_ledger_identity_is_checked() -> None:
    config, ledger, clients, agg, _ = setup()
    (advert,) = clients[1].start()
    forged = type(advert)(job_id=advert.job_id, round=0, sender=2, mask_key=advert.mask_key,
                          share_key=advert.share_key, signature=advert.signature)
    with pytest.raises(KeyAuthenticationError) as info:
        agg.handle(wire(forged))
    assert info.value.slot == 2 and agg._keys == {}
    impostor = Client(config, ledger, 3, 0, np.zeros(D), 1, signer=Ed25519Signer.generate())
    with pytest.raises(KeyAuthenticationError, match="enrolled"):
        impostor.start()
    assert impostor.stage is ClientStage.NEW


# ---- input independence --------------------------------------------------------------------------


def run_steering(colluder: int = 3, setting: Setting | None = None) -> tuple[FrArray, FrArray]:
    """The aggregator hands the last client the sum of the others' uploads; that client submits
    y_r = S* − Σ_{v≠r} upload_v. Returns (aggregate, S*)."""
    config, ledger, clients, agg, _ = setup(seed=1, setting=setting)
    chosen = encode_update(np.full(config.model_length, 1.5), 7, config)
    for c in sorted(clients):
        send(agg, clients[c].start())
    outgoing = agg.close()
    while agg.stage is not AggregatorStage.INPUTS:
        for c, msg in outgoing:
            send(agg, clients[c].handle(wire(msg)))
        outgoing = agg.close()
    uploads = FrArray.zeros(config.n_elements)
    for c, msg in sorted(outgoing, key=lambda cm: cm[0] == colluder):
        if c == colluder:
            rogue = clients[c]
            assert rogue._mask is not None
            rogue._packed = chosen - uploads - rogue._mask  # so that y_r = S* − Σ uploads
        (reply,) = clients[c].handle(wire(msg))
        assert isinstance(reply, MaskedInput)
        uploads = uploads + reply.vector
        send(agg, [reply])
    drive(agg, clients, agg.close())
    assert agg.result is not None and agg.result.survivors == (0, 1, 2, 3)
    return agg.result.aggregate, chosen


def test_last_client_steering_does_not_choose_the_aggregate() -> None:
    aggregate, chosen = run_steering()
    assert aggregate != chosen


def test_last_client_steering_chooses_the_aggregate_without_double_masking() -> None:
    """Negative control: with y_u uploaded in clear the aggregate is exactly what the attacker chose."""
    with single_masking():
        aggregate, chosen = run_steering()
    assert aggregate == chosen


# ---- never both kinds of share -------------------------------------------------------------------

POINTS = [DropPoint.BEFORE_SHARES, DropPoint.AFTER_SHARES, DropPoint.AFTER_MASK_COMMITMENT,
          DropPoint.DURING_UNMASKING]


def released_both(schedule: dict[int, DropPoint], *, leaky: bool = False) -> set[int]:
    """Run a round of 8 under `schedule`; the clients some survivor released both a mask-seed
    share and a self-mask share of (the round may stop by name: what was sent still counts)."""
    config = SecAggConfig(job_id=bytes(32), n_clients=8, model_length=9, neighbours=4)
    updates = {c: (np.zeros(9), 1) for c in range(8)}
    seen: list[UnmaskShares] = []
    real = simulate_module.encode

    def spy(msg: Message) -> bytes:
        if isinstance(msg, UnmaskShares):
            seen.append(msg)
        return real(msg)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(simulate_module, "encode", spy)
        try:
            simulate_round(config, updates, dropouts=schedule)
        except (DropoutError, PrivacyError):
            pass  # too many dropouts: stopped by name
        except ProtocolError:
            if not leaky:
                raise
            # the aggregator refused the leaked shares, but they were sent
    seeds = {d for m in seen for d in m.shares}
    selfs = {u for m in seen for u in m.self_shares}
    return seeds & selfs


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.integers(0, 7), st.sampled_from(POINTS), max_size=4))
def test_no_survivor_ever_releases_both_kinds_of_share_for_one_client(schedule: dict[int, DropPoint]) -> None:
    assert released_both(schedule) == set()


def test_the_release_check_has_teeth() -> None:
    """Negative control: a client that answers with both shares of every neighbour is caught."""
    def leaky(self: Client, msg: UnmaskRequest) -> list[Message]:
        return [self._msg(UnmaskShares, shares={v: s[0] for v, s in self._held.items()},
                          self_shares={v: s[1] for v, s in self._held.items()})]

    key = (ClientStage.SUBMITTED, UnmaskRequest)
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(client_module.TRANSITIONS, key, (leaky, ClientStage.DONE))
        assert released_both({2: DropPoint.AFTER_MASK_COMMITMENT}, leaky=True)


def test_an_unmask_request_that_contradicts_the_ledger_is_refused() -> None:
    config, ledger, clients, agg, _ = setup()
    for c in sorted(clients):
        send(agg, clients[c].start())
    outgoing = agg.close()
    while agg.stage is not AggregatorStage.UNMASKING:
        for c, msg in outgoing:
            send(agg, clients[c].handle(wire(msg)))
        outgoing = agg.close()
    lying = UnmaskRequest(job_id=config.job_id, round=0, sender=0xFFFFFFFF, dropped=(2,))
    with pytest.raises(ProtocolError, match="dropped"):
        clients[1].handle(lying)
    assert clients[1].stage is ClientStage.SUBMITTED
    assert not any(isinstance(m, ShareBundle) for _, m in outgoing)


# ---- early close -----------------------------------------------------------------------------------


def early_close(windows: bool) -> tuple[MemoryLedger, bytes]:
    """The aggregator opens masking for clients 0 and 1; only 0 has committed when it tries to close."""
    ledger, job_id = MemoryLedger(), secrets.token_bytes(32)
    kw = {"mask_window": 60.0, "submit_window": 60.0} if windows else {}
    ledger.open_job(job_id, 3, 100, **kw)  # type: ignore[arg-type]
    ledger.post_mask_set(job_id, 0, 0, (0, 1))
    ledger.post_mask_commitment(job_id, 0, 0, 0, 5)
    return ledger, job_id


def test_the_aggregator_cannot_close_masking_before_the_deadline() -> None:
    ledger, job_id = early_close(windows=True)
    before = (ledger.mask_set(job_id, 0), ledger.mask_commitments(job_id, 0))
    with pytest.raises(LedgerError, match="TooEarly"):
        ledger.close_masking(job_id, 0, 0)
    assert (ledger.mask_set(job_id, 0), ledger.mask_commitments(job_id, 0)) == before
    ledger.advance_time(30)
    ledger.post_mask_commitment(job_id, 0, 0, 1, 6)  # on time: client 1 gets in
    assert ledger.close_masking(job_id, 0, 0) == (0, 1)  # all acted: closing at once is fine
    ledger.post_submission(job_id, 0, 0, 7, 3)
    with pytest.raises(LedgerError, match="TooEarly"):
        ledger.close_submissions(job_id, 0)
    ledger.wait_for_deadline(job_id, 0)
    with pytest.raises(LedgerError, match="Late"):
        ledger.post_submission(job_id, 0, 1, 8, 3)
    assert ledger.close_submissions(job_id, 0).dropped == (1,)


def test_without_deadlines_the_aggregator_shuts_out_an_on_time_client() -> None:
    """Negative control: the first ledger rules let the aggregator close whenever it liked."""
    ledger, job_id = early_close(windows=False)
    assert ledger.close_masking(job_id, 0, 0) == (0,)


def test_a_round_with_deadlines_and_dropouts_completes() -> None:
    config = SecAggConfig(job_id=secrets.token_bytes(32), n_clients=8, model_length=9, neighbours=6)
    ledger = MemoryLedger()  # t = 4 of 6 neighbours: two may vanish
    ledger.open_job(config.job_id, 8, config.max_weight, mask_window=60, submit_window=60)
    updates = {c: (np.zeros(9), 1) for c in range(8)}
    result = simulate_round(config, updates, ledger=ledger,
                            dropouts={2: DropPoint.AFTER_SHARES, 4: DropPoint.AFTER_MASK_COMMITMENT})
    assert result.dropped == (4,) and result.survivors == (0, 1, 3, 5, 6, 7)
    assert ledger.now > 0  # the simulation waited for the deadlines


def test_round_numbers_cannot_run_out() -> None:
    ledger, job_id = MemoryLedger(), secrets.token_bytes(32)
    ledger.open_job(job_id, 3, 100)
    with pytest.raises(LedgerError, match="WrongRound"):
        ledger.post_mask_set(job_id, 2**64 - 2, 0, (0, 1))
    assert ledger.mask_set(job_id, 2**64 - 2) is None
    ledger.post_mask_set(job_id, 3, 0, (0, 1))  # a few numbers may be skipped
    with pytest.raises(LedgerError, match="WrongRound"):
        ledger.post_mask_set(job_id, 1, 0, (0, 1))  # never reused


# ---- a partial key broadcast -------------------------------------------------------------------------


def run_partial_view() -> tuple[Aggregator, dict[int, Client], dict[int, tuple[np.ndarray, int]], Exception | None]:
    """The aggregator leaves client 2's (genuine, signed) keys out of client 0's broadcast, then
    posts a mask set with everyone."""
    config, ledger, clients, agg, updates = setup(seed=2)
    for c in sorted(clients):
        send(agg, clients[c].start())
    for c, msg in agg.close():
        if c == 0:
            msg = KeyBroadcast(job_id=msg.job_id, round=0, sender=msg.sender,
                               keys={v: k for v, k in msg.keys.items() if v != 2})
        bundle = clients[c].handle(wire(msg))
        agg._bundles[c] = dict(bundle[0].shares)  # the aggregator takes every bundle as it is
    refused: Exception | None = None
    outgoing = agg.close()
    while agg.stage is not AggregatorStage.DONE:
        for c, msg in outgoing:
            if isinstance(msg, ShareDelivery) and c == 0:  # hide client 2 from client 0 here too
                msg = ShareDelivery(job_id=msg.job_id, round=0, sender=msg.sender,
                                    shares={v: x for v, x in msg.shares.items() if v != 2})
            try:
                send(agg, clients[c].handle(wire(msg)))
            except ProtocolError as err:
                refused = refused or err
        outgoing = agg.close()
    return agg, clients, updates, refused


def test_a_partial_key_broadcast_is_refused_when_the_mask_set_shows_it() -> None:
    agg, clients, updates, refused = run_partial_view()
    assert refused is not None and "never shown" in str(refused)
    result = agg.result
    assert result is not None and 0 not in result.survivors  # the round went on without client 0
    config = agg.config
    expected = FrArray.zeros(config.n_elements)
    for c in result.survivors:
        expected = expected + encode_update(*updates[c], config)
    assert result.aggregate == expected


def test_a_partial_key_broadcast_corrupts_the_round_without_the_check() -> None:
    """Negative control: without the check client 0 masks with a different neighbour set, the
    masks do not cancel, and the round's aggregate is not the survivors' sum."""
    original = client_module.Client._on_mask_set

    def unchecked(self: Client, msg: Message) -> list[Message]:
        keys = self._keys
        self._keys = {**keys, **{v: keys.get(v, (b"", b"")) for v in msg.members}}  # type: ignore[attr-defined]
        try:
            return original(self, msg)
        finally:
            self._keys = keys

    key = (ClientStage.DELIVERED, MaskSetNotice)
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(client_module.TRANSITIONS, key, (unchecked, ClientStage.COMMITTED))
        agg, _, updates, refused = run_partial_view()
    assert refused is None or "never shown" not in str(refused)
    result = agg.result
    assert result is not None and result.survivors == (0, 1, 2, 3)
    expected = FrArray.zeros(agg.config.n_elements)
    for c in result.survivors:
        expected = expected + encode_update(*updates[c], agg.config)
    assert result.aggregate != expected

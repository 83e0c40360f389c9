"""The durable aggregator in one process: repeated steps are answered once, a restart resumes from
the journal, and a journal is refused when it is for another round, in use, or not a journal."""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from zkagg.bn254.field import FrArray
from zkagg.durable import DurableAggregator, Journal, round_identity
from zkagg.errors import DropoutError, MessageFormatError, ProtocolError, StoreError
from zkagg.ledger import MemoryLedger
from zkagg.secagg import Client, SecAggConfig
from zkagg.secagg.messages import KeyAdvert, encode

N, D = 5, 20


def setup_round(tmp_path: Path) -> tuple[SecAggConfig, MemoryLedger, dict[int, Client]]:
    config = SecAggConfig(job_id=secrets.token_bytes(32), n_clients=N, model_length=D, neighbours=4)
    ledger = MemoryLedger()
    ledger.open_job(config.job_id, N, config.max_weight)
    rng = np.random.default_rng(5)  # test data only
    clients = {c: Client(config, ledger, c, 0, rng.uniform(-1, 1, D), int(rng.integers(1, 100)))
               for c in range(N)}
    return config, ledger, clients


def test_steps_repeat_safely_and_a_restart_resumes(tmp_path: Path) -> None:
    config, ledger, clients = setup_round(tmp_path)
    path = tmp_path / "round.db"
    agg = DurableAggregator(config, ledger, 0, path)
    adverts = [encode(clients[c].start()[0]) for c in range(N)]
    assert [agg.handle(a) for a in adverts] == [True] * N
    assert agg.handle(adverts[2]) is False  # a redelivery: acknowledged, not applied again
    forged = KeyAdvert(job_id=config.job_id, round=0, sender=2, mask_key=b"\x09" * 32, share_key=b"\x09" * 32,
                       signature=b"")
    with pytest.raises(ProtocolError, match="replay"):
        agg.handle(forged)  # other bytes from the same client are still a replay
    with pytest.raises(MessageFormatError):
        agg.handle(b"ZKAG\x01")
    with pytest.raises(ProtocolError, match="deadline 1"):
        agg.close(1)
    broadcast = agg.close(0)
    assert agg.close(0) == broadcast  # the same deadline again: the same messages
    agg.shutdown()

    agg = DurableAggregator(config, ledger, 0, path)  # a restart: the state comes from the journal
    assert agg.deadlines_passed == 1 and agg.close(0) == broadcast
    for c, msg in broadcast:
        for reply in clients[c].handle(msg):
            agg.handle(encode(reply))
    out = agg.close(1)
    agg.shutdown()
    agg = DurableAggregator(config, ledger, 0, path)
    assert agg.close(1) == out
    for deadline in range(2, 5):  # masking, inputs, unmasking (the self-masks come off)
        for c, msg in out:
            for reply in clients[c].handle(msg):
                agg.handle(encode(reply))
        out = agg.close(deadline)
    assert agg.result is not None and agg.result.survivors == tuple(range(N))
    total = FrArray.zeros(config.n_elements)
    for cl in clients.values():
        total = total + cl._packed  # Σ P_u: the masks cancelled
    assert agg.result.aggregate == total
    agg.shutdown()


def test_a_journal_is_bound_to_its_round_and_held_by_one_process(tmp_path: Path) -> None:
    config, ledger, _ = setup_round(tmp_path)
    path = tmp_path / "round.db"
    agg = DurableAggregator(config, ledger, 0, path)
    with pytest.raises(StoreError):  # locked while the first one runs
        DurableAggregator(config, ledger, 0, path)
    agg.shutdown()
    with pytest.raises(StoreError, match="another job or round"):
        DurableAggregator(config, ledger, 1, path)
    (tmp_path / "text.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError):
        DurableAggregator(config, ledger, 0, tmp_path / "text.db")


def test_an_altered_journal_is_refused(tmp_path: Path) -> None:
    config, ledger, clients = setup_round(tmp_path)
    path = tmp_path / "round.db"
    agg = DurableAggregator(config, ledger, 0, path)
    for c in range(N):
        agg.handle(clients[c].start()[0])
    agg.shutdown()
    journal = Journal(path, round_identity(config, 0))
    journal._db.execute("UPDATE log SET payload = ? WHERE seq = 2", (b"ZKAG",))
    journal._db.execute("DELETE FROM log WHERE seq = 3")
    journal.close()
    with pytest.raises(StoreError, match="entry 2"):
        DurableAggregator(config, ledger, 0, path)
    db = sqlite3.connect(path)  # damage it below the journal's checks: a kind that is not UTF-8
    db.execute("UPDATE log SET kind = CAST(x'88' AS TEXT) WHERE seq = 1")
    db.commit()
    db.close()
    with pytest.raises(StoreError):
        DurableAggregator(config, ledger, 0, path)


def test_a_round_that_failed_at_a_deadline_stays_failed_after_a_restart(tmp_path: Path) -> None:
    config, ledger, clients = setup_round(tmp_path)
    path = tmp_path / "round.db"
    agg = DurableAggregator(config, ledger, 0, path)
    out = [(c, m) for c in range(N) for m in clients[c].start()]
    for deadline in range(3):
        for _, msg in out:
            agg.handle(msg)
        out = [(c, r) for c, msg in agg.close(deadline) for r in clients[c].handle(msg)]
    for c, msg in out:  # client 4 commits on the ledger but never uploads: no result can be released
        if c != 4:
            agg.handle(msg)
    with pytest.raises(DropoutError, match="never uploaded"):
        agg.close(3)
    with pytest.raises(DropoutError):
        agg.handle(out[-1][1])
    agg.shutdown()
    agg = DurableAggregator(config, ledger, 0, path)
    assert agg.deadlines_passed == 3 and agg.result is None
    with pytest.raises(DropoutError, match="never uploaded"):
        agg.close(3)
    agg.shutdown()


def test_after_a_failed_journal_write_only_a_restart_continues(tmp_path: Path) -> None:
    config, ledger, clients = setup_round(tmp_path)
    path = tmp_path / "round.db"
    agg = DurableAggregator(config, ledger, 0, path)
    adverts = [encode(clients[c].start()[0]) for c in range(N)]
    agg.handle(adverts[0])
    agg.journal._db.close()  # the storage fails under it
    with pytest.raises(StoreError, match="cannot append"):
        agg.handle(adverts[1])  # applied in memory, not on disk: never acknowledged
    with pytest.raises(StoreError, match="restart"):
        agg.handle(adverts[2])
    agg = DurableAggregator(config, ledger, 0, path)
    assert agg.handle(adverts[0]) is False and agg.handle(adverts[1]) is True
    agg.shutdown()

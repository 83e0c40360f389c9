"""A damaged journal never reopens with an acknowledged entry missing unless it says so by name.

The journal is copied as a crash would leave it (the database, its `-wal` and the head file, taken
while the aggregator still holds it), then damaged: random bit flips in the WAL, a lost `-wal`, an
emptied or truncated database. Each damaged copy either opens with every acknowledged message
(a redelivery is recognised) or raises a ZkaggError; a silent loss fails the test. The negative
control shows the same damage passing silently without the head file (the journal before it).
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from zkagg.durable import DurableAggregator, Journal, JournalLostError
from zkagg.durable.journal import head_path
from zkagg.errors import ZkaggError
from zkagg.secagg.messages import encode

from .test_durable_aggregator import N, setup_round

ACKNOWLEDGED = 4  # messages the aggregator accepted before the crash
FILES = ("round.db", "round.db-wal", "round.db.head")


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, object, list[bytes]]:
    """The files of a journal with four acknowledged messages, as SIGKILL would leave them."""
    tmp = tmp_path_factory.mktemp("journal")
    config, ledger, clients = setup_round(tmp)
    adverts = [encode(clients[c].start()[0]) for c in range(N)]
    live = tmp / "live"
    live.mkdir()
    agg = DurableAggregator(config, ledger, 0, live / "round.db")
    for advert in adverts[:ACKNOWLEDGED]:
        assert agg.handle(advert) is True
    snapshot = tmp / "snapshot"
    snapshot.mkdir()
    for name in FILES:  # copied while the journal is open: nothing checkpointed, the WAL holds it all
        shutil.copy(live / name, snapshot / name)
    agg.shutdown()
    assert (snapshot / "round.db-wal").stat().st_size > 0
    return snapshot, config, ledger, adverts


def reopen(crashed: tuple, damage: Callable[[Path], None], where: Path, *, head: bool = True) -> str:
    """'complete', 'refused' (a named error) or 'LOST' (opened with an acknowledged message missing)."""
    snapshot, config, ledger, adverts = crashed
    if where.exists():
        shutil.rmtree(where)
    shutil.copytree(snapshot, where)
    if not head:
        head_path(where / "round.db").unlink()
    damage(where)
    try:
        agg = DurableAggregator(config, ledger, 0, where / "round.db")
    except ZkaggError:
        return "refused"
    try:
        redelivered = [agg.handle(a) for a in adverts[:ACKNOWLEDGED]]
        return "complete" if not any(redelivered) else "LOST"
    except ZkaggError:
        return "refused"
    finally:
        agg.shutdown()


def flip_wal_bit(rng: random.Random) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        wal = folder / "round.db-wal"
        data = bytearray(wal.read_bytes())
        bit = rng.randrange(8 * len(data))
        data[bit // 8] ^= 1 << (bit % 8)
        wal.write_bytes(bytes(data))
    return damage


def flip_in_last_frame(folder: Path) -> None:
    """A bit of the last WAL frame's page: its checksum fails, SQLite drops the last commit."""
    wal = folder / "round.db-wal"
    data = bytearray(wal.read_bytes())
    page_size = int.from_bytes(data[8:12], "big")
    data[len(data) - page_size // 2] ^= 0x10
    wal.write_bytes(bytes(data))


def lose_wal(folder: Path) -> None:
    (folder / "round.db-wal").unlink()


def empty_db_and_lose_wal(folder: Path) -> None:
    (folder / "round.db").write_bytes(b"")
    (folder / "round.db-wal").unlink()


def empty_db(folder: Path) -> None:
    (folder / "round.db").write_bytes(b"")


def truncate_wal(folder: Path) -> None:
    wal = folder / "round.db-wal"
    wal.write_bytes(wal.read_bytes()[: wal.stat().st_size * 2 // 3])


def truncate_db_after_checkpoint(folder: Path) -> None:
    db = sqlite3.connect(folder / "round.db")  # fold the WAL in, then cut the file short
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    path = folder / "round.db"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def damage_head(folder: Path) -> None:
    head = head_path(folder / "round.db")
    data = bytearray(head.read_bytes())
    data[50] ^= 1
    head.write_bytes(bytes(data))


FILE_DAMAGE = [flip_in_last_frame, lose_wal, empty_db_and_lose_wal, empty_db, truncate_wal,
               truncate_db_after_checkpoint, damage_head]


@pytest.mark.parametrize("damage", FILE_DAMAGE, ids=[d.__name__ for d in FILE_DAMAGE])
def test_file_damage_is_refused_or_harmless(crashed: tuple, damage: Callable[[Path], None],
                                            tmp_path: Path) -> None:
    assert reopen(crashed, damage, tmp_path / "copy") in ("complete", "refused")


def test_undamaged_crash_copy_reopens_complete(crashed: tuple, tmp_path: Path) -> None:
    assert reopen(crashed, lambda folder: None, tmp_path / "copy") == "complete"


def test_a_lost_last_commit_is_named(crashed: tuple, tmp_path: Path) -> None:
    snapshot, config, ledger, _ = crashed
    shutil.copytree(snapshot, tmp_path / "copy")
    flip_in_last_frame(tmp_path / "copy")
    with pytest.raises(JournalLostError, match=f"ends at entry {ACKNOWLEDGED - 1} but entry {ACKNOWLEDGED}"):
        DurableAggregator(config, ledger, 0, tmp_path / "copy" / "round.db")


def test_negative_control_without_the_head_the_loss_is_silent(crashed: tuple, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal as it was before the head file (it does not read one): the same damage reopens
    with three of four messages, or with none, and nothing is said."""
    monkeypatch.setattr(Journal, "_read_head", lambda self: None)
    monkeypatch.setattr(Journal, "_check_acknowledged", lambda self, acknowledged: None)
    for damage in (flip_in_last_frame, empty_db_and_lose_wal):
        assert reopen(crashed, damage, tmp_path / "copy", head=False) == "LOST"


def campaign(crashed: tuple, tmp_path: Path, flips: int, seed: int) -> Counter[str]:
    rng = random.Random(seed)  # test data only: which bits are flipped
    return Counter(reopen(crashed, flip_wal_bit(rng), tmp_path / "copy") for _ in range(flips))


def test_random_wal_flips_never_lose_an_acknowledged_entry_silently(crashed: tuple, tmp_path: Path) -> None:
    outcomes = campaign(crashed, tmp_path, 25, seed=17)
    assert outcomes["LOST"] == 0, outcomes
    assert sum(outcomes.values()) == 25


@pytest.mark.fuzz
def test_hundred_random_wal_flips(crashed: tuple, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outcomes = campaign(crashed, tmp_path, 100, seed=2026)
    with capsys.disabled():
        print(f"\n100 random WAL bit flips: {dict(outcomes)}")
    assert outcomes["LOST"] == 0, outcomes


def test_the_ledger_ahead_of_an_emptied_journal_is_named(tmp_path: Path) -> None:
    """The whole journal (and its head) lost after the round started on the ledger: refused."""
    config, ledger, clients = setup_round(tmp_path)
    path = tmp_path / "round.db"
    agg = DurableAggregator(config, ledger, 0, path)
    out = [(c, m) for c in range(N) for m in clients[c].start()]
    for deadline in range(2):  # keys, then shares: the mask set is posted on the ledger
        for _, msg in out:
            agg.handle(msg)
        out = [(c, r) for c, msg in agg.close(deadline) for r in clients[c].handle(msg)]
    agg.shutdown()
    assert ledger.mask_set(config.job_id, 0) is not None
    for name in ("round.db", "round.db.head"):
        (tmp_path / name).unlink()
    with pytest.raises(JournalLostError, match="behind the ledger"):
        DurableAggregator(config, ledger, 0, path)

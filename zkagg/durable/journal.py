"""An append-only journal of one aggregation round in SQLite (stdlib sqlite3).

Each entry is (kind, payload bytes) and is committed on its own before `append` returns: WAL mode
with synchronous=FULL, so the commit is fsync'd. Entries form a hash chain (each row stores
sha256(previous digest ‖ kind ‖ payload), the first one chained to the round's identity, and the
last one's number and digest are kept as the head, updated in the same transaction), so an
altered, reordered or truncated journal is refused when it is read, never replayed. One process
at a time: the file is locked while open (locking_mode=EXCLUSIVE), and the lock dies with the
process.

SQLite alone cannot tell a lost commit from one never made: a damaged last WAL frame, a lost
`-wal` file or an emptied database reopen as a shorter (or empty) journal without a word. So the
head is also kept outside the database, in `<journal>.head`: after each commit, before `append`
returns (and the caller acknowledges), the entry count and chain digest are written there with
its own checksum and fsync'd. A journal that ends before that head, or whose entry at the head
has another digest, raises JournalLostError; a journal one entry ahead of it (a crash between
the commit and the head's write) is fine — that entry was never acknowledged, and it is valid.

Every failure — not a database, another round, a malformed row, a storage error — is a StoreError.
"""

from __future__ import annotations

import enum
import hashlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import StoreError

FORMAT = b"zkagg-journal/1"
#: how long to wait for a lock held by another process before refusing
LOCK_TIMEOUT_S = 1.0

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE log (
    seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload BLOB NOT NULL, digest BLOB NOT NULL
);
"""


#: what sqlite3 raises on a damaged file: its own errors, and text that is not UTF-8
_READ_ERRORS = (sqlite3.Error, UnicodeDecodeError)

HEAD_MAGIC = b"zkaggHD1"
_HEAD_LEN = len(HEAD_MAGIC) + 32 + 8 + 32 + 8  # magic, identity hash, count, digest, checksum


class JournalLostError(StoreError):
    """The journal lacks entries that were acknowledged (its head file, kept outside the database,
    says so) or that the ledger already holds: it was emptied, truncated, replaced or damaged.
    Resuming from it would silently lose acknowledged work, so it is refused."""


def head_path(path: Path) -> Path:
    return path.with_name(path.name + ".head")


class Kind(enum.Enum):
    MESSAGE = "message"  # an accepted client message, in the wire format
    CLOSE = "close"  # a stage's deadline passed (the aggregator's close())
    LEDGER = "ledger"  # a ledger write the aggregator made, with its result
    PROOF = "proof"  # a verified chunk proof


@dataclass(frozen=True)
class Entry:
    seq: int
    kind: Kind
    payload: bytes
    digest: bytes  # the chain up to and including this entry


def _chain(previous: bytes, kind: Kind, payload: bytes) -> bytes:
    return hashlib.sha256(previous + kind.value.encode() + b"\x00" + payload).digest()


class Journal:
    """The journal at `path` for the round named by `identity` (created if missing)."""

    def __init__(self, path: str | Path, identity: bytes) -> None:
        self.path = Path(path)
        self._identity = identity
        self._head_fd: int | None = None
        # only a missing or empty file becomes a new journal: anything else must already be one
        self._fresh = not self.path.exists() or self.path.stat().st_size == 0
        acknowledged = self._read_head()  # before anything is written
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=LOCK_TIMEOUT_S)
        except _READ_ERRORS as exc:
            raise StoreError(f"cannot open the journal {self.path.name}: {exc}") from exc
        try:
            self._setup()
            self._count, self._last = 0, hashlib.sha256(identity).digest()
            for entry in self.entries():  # checks the whole chain once, keeping only its head
                self._count, self._last = entry.seq, entry.digest
            head = self._db.execute("SELECT value FROM meta WHERE key = 'head'").fetchone()
            if head is None or head[0] != self._head_value():
                raise StoreError(f"journal {self.path.name}: its entries do not end where its head says")
            self._check_acknowledged(acknowledged)
            self._open_head()
            self._write_head()
        except _READ_ERRORS as exc:
            self.close()
            raise StoreError(f"journal {self.path.name}: {exc}") from exc
        except (StoreError, OSError) as exc:
            self.close()
            if isinstance(exc, OSError):
                raise StoreError(f"journal {self.path.name}: cannot write its head file: {exc}") from exc
            raise

    # -- the head outside the database ------------------------------------------------------------

    def _head_record(self) -> bytes:
        body = (HEAD_MAGIC + hashlib.sha256(self._identity).digest() + self._count.to_bytes(8, "big")
                + self._last)
        return body + hashlib.sha256(body).digest()[:8]

    def _read_head(self) -> tuple[int, bytes] | None:
        """(count, digest) the head file acknowledges, None if there is no head file."""
        p = head_path(self.path)
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"journal {self.path.name}: cannot read its head file: {exc}") from exc
        body, check = data[:-8], data[-8:]
        if len(data) != _HEAD_LEN or not body.startswith(HEAD_MAGIC) \
                or hashlib.sha256(body).digest()[:8] != check:
            raise JournalLostError(f"journal {self.path.name}: its head file {p.name} is damaged")
        if body[8:40] != hashlib.sha256(self._identity).digest():
            raise StoreError(f"journal {self.path.name}: its head file belongs to another job or round")
        return int.from_bytes(body[40:48], "big"), body[48:80]

    def _check_acknowledged(self, acknowledged: tuple[int, bytes] | None) -> None:
        if acknowledged is None:
            if self._count > 0:  # the head file is made with the journal, before any entry
                raise JournalLostError(f"journal {self.path.name} has {self._count} entries but no "
                                       f"head file {head_path(self.path).name}: it was lost or replaced")
            return
        count, digest = acknowledged
        if self._count < count:
            raise JournalLostError(
                f"journal {self.path.name} ends at entry {self._count} but entry {count} was "
                "acknowledged: its last entries were lost (emptied, truncated, or a damaged or lost -wal)")
        at = hashlib.sha256(self._identity).digest() if count == 0 else None
        if at is None:
            for entry in self.entries(count):
                at = entry.digest
        if at != digest:
            raise JournalLostError(f"journal {self.path.name}: entry {count} is not the one acknowledged")

    def _open_head(self) -> None:
        p = head_path(self.path)
        created = not p.exists()
        self._head_fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o600)
        if created:  # the new name must survive a crash too
            folder = os.open(p.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)

    def _write_head(self) -> None:
        assert self._head_fd is not None
        record = self._head_record()
        if os.pwrite(self._head_fd, record, 0) != len(record):
            raise OSError("short write")
        os.fsync(self._head_fd)

    def _setup(self) -> None:
        db = self._db
        db.execute("PRAGMA locking_mode=EXCLUSIVE")
        if not self._fresh:  # checked before anything is written to the file
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables != {"meta", "log"}:
                raise StoreError(f"{self.path.name} is not a zkagg journal")
        if db.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
            raise StoreError(f"journal {self.path.name}: the file system does not support WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("BEGIN IMMEDIATE")  # takes the exclusive lock now, not at the first append
        try:
            if self._fresh:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                start = (0).to_bytes(8, "big") + hashlib.sha256(self._identity).digest()
                db.execute("INSERT INTO meta VALUES ('format', ?), ('identity', ?), ('head', ?)",
                           (FORMAT, self._identity, start))
            else:
                rows = dict(db.execute("SELECT key, value FROM meta").fetchall())
                if rows.get("format") != FORMAT:
                    raise StoreError(f"{self.path.name} is not a zkagg journal of format {FORMAT.decode()}")
                if rows.get("identity") != self._identity:
                    raise StoreError(f"journal {self.path.name} belongs to another job or round")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @property
    def count(self) -> int:
        return self._count

    def entries(self, upto: int | None = None) -> Iterator[Entry]:
        """The entries in order (up to entry `upto`), each checked against the hash chain as it
        is read. Entries appended while iterating are not part of it when `upto` is given."""
        digest = hashlib.sha256(self._identity).digest()
        bound = (1 << 62) if upto is None else upto
        try:
            rows = self._db.execute(
                "SELECT seq, kind, payload, digest FROM log WHERE seq <= ? ORDER BY seq", (bound,))
            for i, (seq, kind, payload, stored) in enumerate(rows):
                if seq != i + 1 or not isinstance(payload, bytes) or not isinstance(stored, bytes):
                    raise StoreError(f"journal {self.path.name}: entry {i + 1} is malformed")
                try:
                    k = Kind(kind)
                except ValueError:
                    raise StoreError(f"journal {self.path.name}: entry {seq} has an unknown kind") from None
                digest = _chain(digest, k, payload)
                if digest != stored:
                    raise StoreError(f"journal {self.path.name}: entry {seq} does not match its digest")
                yield Entry(seq, k, payload, digest)
        except _READ_ERRORS as exc:
            raise StoreError(f"journal {self.path.name}: {exc}") from exc

    def _head_value(self) -> bytes:
        return self._count.to_bytes(8, "big") + self._last

    def append(self, kind: Kind, payload: bytes) -> None:
        """Record one entry; it is on disk when this returns."""
        digest = _chain(self._last, kind, payload)
        seq = self._count + 1
        head = seq.to_bytes(8, "big") + digest
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("INSERT INTO log VALUES (?, ?, ?, ?)", (seq, kind.value, payload, digest))
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'head'", (head,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        except _READ_ERRORS as exc:
            raise StoreError(f"journal {self.path.name}: cannot append: {exc}") from exc
        self._last, self._count = digest, seq
        try:  # only now is the entry acknowledged
            self._write_head()
        except OSError as exc:
            raise StoreError(f"journal {self.path.name}: cannot write its head file: {exc}") from exc

    def close(self) -> None:
        if getattr(self, "_db", None) is not None:
            self._db.close()
        if self._head_fd is not None:
            os.close(self._head_fd)
            self._head_fd = None

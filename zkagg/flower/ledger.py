"""One ledger for the server and every client: a ledger served to other processes on the local host.

Flower's simulation engine runs each ClientApp in a worker process, so a ledger object made in the
test (a `MemoryLedger`) is not shared by simply passing it around. `LedgerServer` serves one ledger
on 127.0.0.1 and `RemoteLedger` is a picklable handle that calls it from any process, one call at
a time (the served ledger sees the calls in order, as a chain would see transactions). A call's
LedgerError reaches the caller unchanged.

For simulations and tests only: the connection is authenticated with a random key, but the calls
travel as pickles. A real deployment gives every party a handle to the contract-backed ledger.
"""

from __future__ import annotations

import secrets
import threading
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from typing import Any

from ..errors import InputError, LedgerError

#: what a remote handle may call: the Ledger protocol and the in-memory ledger's job registration
METHODS = frozenset({
    "open_job", "post_mask_set", "post_mask_commitment", "close_masking", "mask_set",
    "mask_commitments", "post_submission", "close_submissions", "submissions", "outcome",
    "accept_round", "model_hash", "identity", "signer",
})


class LedgerServer:
    """Serves `ledger` on 127.0.0.1 until `close()`; use as a context manager. `port` (default: an
    ephemeral one) and `authkey` (default: random) fix what clients must be told, e.g. through a
    `flwr run` run config."""

    def __init__(self, ledger: Any, *, port: int = 0, authkey: bytes | None = None) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
            raise InputError(f"port must be an int in [0, 65536), not {port!r}")
        if authkey is not None and (not isinstance(authkey, bytes) or len(authkey) < 16):
            raise InputError("authkey must be at least 16 bytes")
        self.ledger = ledger
        self._authkey = secrets.token_bytes(32) if authkey is None else authkey
        try:
            self._listener = Listener(("127.0.0.1", port), authkey=self._authkey)
        except OSError as exc:
            raise LedgerError(f"cannot serve the ledger on 127.0.0.1:{port}: {exc.strerror}") from None
        self._lock = threading.RLock()  # reentrant: a guarded ledger may itself be served
        self._closed = False
        threading.Thread(target=self._accept, name="zkagg-ledger", daemon=True).start()

    @property
    def address(self) -> tuple[str, int]:
        return self._listener.address  # type: ignore[no-any-return]

    def guard(self, ledger: Any) -> Guarded:
        """`ledger` for this process's own calls (e.g. the workflow's), one at a time with the
        served calls: a ledger used in-process and served at once is never called concurrently."""
        return Guarded(ledger, self._lock)

    def remote(self) -> RemoteLedger:
        """A handle other processes can use (it pickles to the address and key)."""
        return RemoteLedger(self.address, self._authkey)

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def __enter__(self) -> LedgerServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn = self._listener.accept()
            except (OSError, EOFError, AuthenticationError):  # closed, or a peer without the key
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: Connection) -> None:
        with conn:
            while True:
                try:
                    name, args = conn.recv()
                except (EOFError, OSError):
                    return
                try:
                    if name not in METHODS:
                        raise LedgerError(f"the served ledger has no method {name!r}")
                    with self._lock:
                        reply = ("ok", getattr(self.ledger, name)(*args))
                except Exception as exc:  # noqa: BLE001 — the caller gets it back
                    reply = ("error", exc)
                conn.send(reply)


class Guarded:
    """A ledger whose method calls hold a lock (`LedgerServer.guard`); other attributes, such as a
    chain ledger's `contract`, are the ledger's own."""

    def __init__(self, ledger: Any, lock: Any) -> None:
        self.ledger, self._lock = ledger, lock

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.ledger, name)
        if not callable(value):
            return value

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return value(*args, **kwargs)
        return locked


class OpenedLedger:
    """The ledger a ZkaggWorkflow opened, for a LedgerServer made before the job exists (a chain
    ledger is created at the first round, after the setup)."""

    def __init__(self, workflow: Any) -> None:
        self.workflow = workflow

    def __getattr__(self, name: str) -> Any:
        if self.workflow.job is None:
            raise LedgerError("the job is not open yet: the server opens it at the first round")
        return getattr(self.workflow.ledger, name)


class RemoteLedger:
    """A Ledger whose calls run on a `LedgerServer`; it connects on first use in each process."""

    def __init__(self, address: tuple[str, int], authkey: bytes) -> None:
        self.address, self._authkey = (str(address[0]), int(address[1])), authkey
        self._conn: Connection | None = None
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[Any, ...]:
        return RemoteLedger, (self.address, self._authkey)

    def _call(self, name: str, *args: Any) -> Any:
        with self._lock:
            if self._conn is None:
                try:
                    self._conn = Client(self.address, authkey=self._authkey)
                except ConnectionRefusedError:
                    raise LedgerError(f"no ledger is served at {self.address[0]}:{self.address[1]}: start "
                                      "the server app first, or check the run config's ledger address") from None
            self._conn.send((name, args))
            status, value = self._conn.recv()
        if status == "error":
            raise value
        return value

    def __getattr__(self, name: str) -> Any:
        if name not in METHODS:
            raise AttributeError(name)
        return lambda *args: self._call(name, *args)


def check_ledger(ledger: object, name: str = "ledger") -> None:
    """Eager check that an object offers the Ledger protocol's methods."""
    if isinstance(ledger, RemoteLedger):
        return
    missing = sorted(m for m in METHODS - {"open_job", "signer"} if not callable(getattr(ledger, m, None)))
    if missing:
        raise InputError(f"{name} is not a Ledger: it lacks {', '.join(missing)}")

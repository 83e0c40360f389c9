"""Kill the aggregator with SIGKILL at every stage of a round and restart it from its journal: the
round publishes the same model as an uninterrupted one, each message is accepted once, and each
ledger write reaches the ledger once.

The ledger lives in the test process: a MemoryLedger served to the aggregator process over a
local socket (multiprocessing.connection, 127.0.0.1, with an auth key). The clients run in the
test process too and talk to the ledger directly. The aggregator process (this module run with
`python -m`) serves a DurableAggregator over a second local socket and, to die at an exact
point, kills itself with SIGKILL where its crash plan says: just before or after the n-th
journal append of a kind, or right after a ledger write returns and before it is journaled.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
from collections import Counter, deque
from multiprocessing.connection import Client as Connect
from multiprocessing.connection import Listener
from pathlib import Path
from typing import Any

import numpy as np

from zkagg.aggregation import AggregationJob
from zkagg.durable import DurableAggregator, Journal, Kind, round_identity
from zkagg.errors import ZkaggError
from zkagg.groth16 import ProvingKey
from zkagg.ledger import MemoryLedger
from zkagg.secagg import Client, Quantization, SecAggConfig
from zkagg.secagg.messages import MESSAGE_TYPES, decode, encode

N, D, ROUND = 4, 40, 2  # two chunk proofs
DROPPED = 1  # commits its mask, never submits: the round has an unmasking stage
WRITES = {"post_mask_set", "close_masking", "close_submissions", "accept_round"}
REPO = Path(__file__).resolve().parents[1]

# Where each aggregator process dies, in the order the round reaches them: (when, what, n) with
# n counted among this process's own journal appends (or ledger writes) of that kind.
CRASH_PLANS = [
    ("after", "KeyAdvert", 2),  # keys: a message on disk, its acknowledgement lost
    ("after", "close", 1),  # the key deadline journaled, before it runs
    ("before", "ShareBundle", 1),  # shares: a message applied in memory, not yet on disk
    ("ledger", "post_mask_set", 1),  # the mask set is on the ledger, not yet in the journal
    ("after", "ledger", 1),  # the restart finds it on the ledger, journals it, and dies
    ("ledger", "close_masking", 1),  # masking
    ("after", "MaskedInput", 2),  # inputs
    ("ledger", "close_submissions", 1),
    ("before", "UnmaskShares", 2),  # unmasking
    ("after", "close", 1),  # the unmasking deadline journaled, the aggregate not yet computed
    ("after", "proof", 1),  # proving: one chunk proof on disk
    ("ledger", "accept_round", 1),  # the ledger accepted the round, the journal does not know yet
]


def make_job(job_id: bytes) -> AggregationJob:
    config = SecAggConfig(job_id=job_id, n_clients=N, model_length=D, neighbours=3,
                          quantization=Quantization(bits=16, frac_bits=12, clip=4.0), max_weight=1000)
    return AggregationJob(config, chunk_len=3)


# -- the ledger, served from the test process ------------------------------------------------------

class LedgerServer:
    """A MemoryLedger behind a local socket; records every write it accepted or refused."""

    def __init__(self, ledger: MemoryLedger) -> None:
        self.ledger, self.authkey = ledger, secrets.token_bytes(16)
        self.accepted: list[tuple[str, tuple[Any, ...]]] = []
        self.refused: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._listener = Listener(("127.0.0.1", 0), authkey=self.authkey)
        self.address = self._listener.address
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: Any) -> None:
        while True:
            try:
                op, args = conn.recv()
            except (EOFError, OSError):
                return
            with self._lock:
                try:
                    reply = ("ok", getattr(self.ledger, op)(*args))
                    if op in WRITES:
                        self.accepted.append((op, args[2:] if op != "accept_round" else ()))
                except ZkaggError as exc:
                    if op in WRITES:
                        self.refused.append((op, str(exc)))
                    reply = ("err", exc)
            conn.send(reply)

    def close(self) -> None:
        self._listener.close()


class RemoteLedger:
    """The aggregator process's handle on the LedgerServer (any Ledger method, by name)."""

    def __init__(self, address: Any, authkey: bytes, on_write: Any) -> None:
        self._conn = Connect(address, authkey=authkey)
        self._on_write = on_write

    def __getattr__(self, op: str) -> Any:
        def call(*args: Any) -> Any:
            self._conn.send((op, args))
            status, value = self._conn.recv()
            if status == "err":
                raise value
            if op in WRITES:
                self._on_write(op)
            return value
        return call


# -- the aggregator process -----------------------------------------------------------------------

def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def serve(spec_path: str) -> None:
    """The aggregator process: a DurableAggregator behind a local socket, with a crash plan."""
    spec = json.loads(Path(spec_path).read_text())
    job = make_job(bytes.fromhex(spec["job_id"]))
    plan = tuple(spec["crash"]) if spec["crash"] else None
    counts: Counter[str] = Counter()

    def on_write(op: str) -> None:
        counts["ledger:" + op] += 1
        if plan and plan[0] == "ledger" and plan[1] == op and counts["ledger:" + op] == plan[2]:
            die()

    ledger = RemoteLedger(tuple(spec["ledger"]), bytes.fromhex(spec["authkey"]), on_write)
    append = Journal.append

    def planned_append(journal: Journal, kind: Kind, payload: bytes) -> None:
        what = MESSAGE_TYPES[payload[5]].__name__ if kind is Kind.MESSAGE else kind.value
        counts[what] += 1
        hit = plan is not None and plan[1] == what and counts[what] == plan[2]
        if hit and plan[0] == "before":
            die()
        append(journal, kind, payload)
        if hit and plan[0] == "after":
            die()

    # installed before the journal replays: finishing an interrupted deadline appends too
    Journal.append = planned_append  # type: ignore[method-assign]
    agg = DurableAggregator(job.config, ledger, ROUND, spec["journal"], commit=job.commit)  # type: ignore[arg-type]
    with Listener(("127.0.0.1", 0), authkey=bytes.fromhex(spec["authkey"])) as listener:
        print(listener.address[1], flush=True)
        with listener.accept() as conn:
            while True:
                command, arg = conn.recv()
                try:
                    if command == "handle":
                        reply: Any = agg.handle(arg)
                    elif command == "close":
                        reply = [(c, encode(m)) for c, m in agg.close(arg)]
                    elif command == "publish":
                        pk = ProvingKey.from_bytes(Path(spec["pk"]).read_bytes())
                        reply = agg.publish(job, pk)
                    else:
                        agg.shutdown()
                        conn.send(("ok", None))
                        return
                    conn.send(("ok", reply))
                except ZkaggError as exc:
                    conn.send(("err", exc))


class ProcessAggregator:
    """The driver's side: calls the aggregator process and restarts it whenever it dies."""

    def __init__(self, spec: dict[str, Any], plans: list[Any], workdir: Path) -> None:
        self.spec, self.plans, self.workdir = spec, deque(plans), workdir
        self.restarts = 0
        self._start()

    def _start(self) -> None:
        while True:
            spec = {**self.spec, "crash": self.plans.popleft() if self.plans else None}
            path = self.workdir / f"spec{self.restarts}.json"
            path.write_text(json.dumps(spec))
            env = {**os.environ, "PYTHONPATH": str(REPO)}
            self.proc = subprocess.Popen([sys.executable, "-m", "tests.test_durable_restart", str(path)],
                                         stdout=subprocess.PIPE, cwd=REPO, env=env, text=True)
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline()
            if line:
                break
            self._died()  # while it replayed its journal: finishing a deadline can crash too
        self.conn = Connect(("127.0.0.1", int(line)), authkey=bytes.fromhex(self.spec["authkey"]))

    def _died(self) -> None:
        assert self.proc.wait(timeout=30) == -signal.SIGKILL
        self.restarts += 1

    def call(self, command: str, arg: Any = None) -> Any:
        while True:
            try:
                self.conn.send((command, arg))
                status, value = self.conn.recv()
            except (EOFError, OSError):
                self._died()
                self._start()
                continue  # the same request again: the aggregator answers it once
            if status == "err":
                raise value
            return value

    def stop(self) -> None:
        self.call("exit")
        self.proc.wait(timeout=30)


class LocalAggregator:
    """The same calls on a DurableAggregator in this process (the uninterrupted reference)."""

    def __init__(self, agg: DurableAggregator, job: AggregationJob, pk: ProvingKey) -> None:
        self.agg, self.job, self.pk = agg, job, pk

    def call(self, command: str, arg: Any = None) -> Any:
        if command == "handle":
            return self.agg.handle(arg)
        if command == "close":
            return [(c, encode(m)) for c, m in self.agg.close(arg)]
        return self.agg.publish(self.job, self.pk)


# -- one round, driven from the clients' side ------------------------------------------------------

def drive_round(aggregator: Any, clients: dict[int, Client]) -> bytes:
    alive, deadline = set(clients), 0

    def send(messages: list[Any]) -> None:
        for msg in messages:
            aggregator.call("handle", encode(msg))

    def close() -> list[tuple[int, Any]]:
        nonlocal deadline
        out = aggregator.call("close", deadline)
        deadline += 1
        return [(c, decode(data)) for c, data in out]

    def deliver(outgoing: list[tuple[int, Any]]) -> None:
        for c, msg in outgoing:
            if c in alive:
                send(clients[c].handle(msg))

    for c in sorted(clients):
        send(clients[c].start())
    deliver(close())  # keys → share bundles
    deliver(close())  # shares → deliveries and the mask set → mask commitments
    requests = close()  # masking → input requests
    alive.discard(DROPPED)
    deliver(requests)  # → masked inputs
    deliver(close())  # inputs → unmask requests → shares of the dropped client's key
    close()  # unmasking → the aggregate
    return aggregator.call("publish")


def make_clients(job: AggregationJob, ledger: MemoryLedger) -> dict[int, Client]:
    rng = np.random.default_rng(11)  # test data only; every run gets the same updates
    updates = {c: (rng.uniform(-1, 1, D), int(rng.integers(1, 1000))) for c in range(N)}
    return {c: Client(job.config, ledger, c, ROUND, u, w, commit=job.commit) for c, (u, w) in updates.items()}


def journal_messages(path: Path, job: AggregationJob) -> list[bytes]:
    journal = Journal(path, round_identity(job.config, ROUND))
    try:
        return [e.payload for e in journal.entries() if e.kind is Kind.MESSAGE]
    finally:
        journal.close()


def test_killed_at_every_stage_the_round_publishes_the_same_model_once(tmp_path: Path) -> None:
    job = make_job(secrets.token_bytes(32))
    pk = job.insecure_single_party_setup()

    reference = MemoryLedger()
    reference.open_job(job.config.job_id, N, job.config.max_weight, job.verifier(pk.vk))
    local = DurableAggregator(job.config, reference, ROUND, tmp_path / "reference.db", commit=job.commit)
    expected = drive_round(LocalAggregator(local, job, pk), make_clients(job, reference))
    local.shutdown()
    assert reference.model_hash(job.config.job_id, ROUND) == expected

    ledger = MemoryLedger()
    ledger.open_job(job.config.job_id, N, job.config.max_weight, job.verifier(pk.vk))
    server = LedgerServer(ledger)
    (tmp_path / "pk.bin").write_bytes(pk.to_bytes())
    spec = {"job_id": job.config.job_id.hex(), "ledger": list(server.address),
            "authkey": server.authkey.hex(), "journal": str(tmp_path / "round.db"),
            "pk": str(tmp_path / "pk.bin")}
    aggregator = ProcessAggregator(spec, CRASH_PLANS, tmp_path)
    clients = make_clients(job, ledger)
    try:
        published = drive_round(aggregator, clients)
        assert aggregator.restarts == len(CRASH_PLANS)  # every planned crash happened
        aggregator.stop()
    finally:
        if aggregator.proc.poll() is None:
            aggregator.proc.kill()
        server.close()

    assert published == expected == ledger.model_hash(job.config.job_id, ROUND)
    # every ledger write reached the ledger exactly once, none was refused as a replay
    ops = [op for op, _ in server.accepted]
    assert ops == ["post_mask_set", "close_masking", "close_submissions", "accept_round"]
    assert server.refused == []
    outcome = ledger.outcome(job.config.job_id, ROUND)
    assert outcome is not None and outcome.dropped == (DROPPED,)
    # each client message is in the journal exactly once: 4 adverts, 4 bundles, 3 inputs, 3 shares
    messages = journal_messages(tmp_path / "round.db", job)
    assert len(messages) == len(set(messages)) == 14
    kinds = Counter(type(decode(m)).__name__ for m in messages)
    assert kinds == {"KeyAdvert": 4, "ShareBundle": 4, "MaskedInput": 3, "UnmaskShares": 3}


if __name__ == "__main__":
    serve(sys.argv[1])

"""Run a whole round in one process: n clients, one aggregator, an in-memory ledger, a dropout schedule.

Every message crosses the in-process transport as bytes (encode → decode), exactly as it would over
a network, so the simulator exercises the wire format too.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..ledger import Ledger, MemoryLedger
from .aggregator import Aggregator, AggregatorStage, Outgoing, RoundResult
from .client import Client
from .commitments import CommitLike
from .config import SecAggConfig
from .encoding import Update
from .messages import MaskedInput, Message, decode, encode
from .round import default_commit


class DropPoint(enum.Enum):
    """When a client disappears for good."""

    BEFORE_SHARES = "before-shares"  # advertised its keys, never sends shares
    AFTER_SHARES = "after-shares"  # shares delivered, never commits its mask: the mask set shrinks
    AFTER_MASK_COMMITMENT = "after-mask-commitment"  # e_u posted, never submits: dropped, recovered
    BEFORE_UPLOAD = "before-upload"  # c_u posted, y_u never uploaded: the round cannot complete
    DURING_UNMASKING = "during-unmasking"  # submitted, never answers the unmask request


@dataclass
class InProcessTransport:
    """Routes messages between the aggregator and the clients that are still alive."""

    aggregator: Aggregator
    clients: Mapping[int, Client]
    alive: set[int] = field(default_factory=set)

    def send_to_aggregator(self, messages: Iterable[Message]) -> None:
        for msg in messages:
            self.aggregator.handle(decode(encode(msg)))

    def deliver(self, outgoing: Iterable[Outgoing], *, withhold_uploads: frozenset[int] = frozenset()) -> None:
        for recipient, msg in outgoing:
            if recipient not in self.alive:
                continue
            replies = self.clients[recipient].handle(decode(encode(msg)))
            if recipient in withhold_uploads:
                replies = [r for r in replies if not isinstance(r, MaskedInput)]
            self.send_to_aggregator(replies)


def simulate_round(config: SecAggConfig, updates: Mapping[int, tuple[Update, int]], *, round: int = 0,
                   ledger: Ledger | None = None, dropouts: Mapping[int, DropPoint] | None = None,
                   commit: CommitLike = default_commit) -> RoundResult:
    """One round over `updates` ({client id: (update, weight)}); returns the aggregator's result.

    Raises DropoutError or PrivacyError (and releases nothing) when the round cannot complete safely.
    """
    if ledger is None:
        memory = MemoryLedger()
        memory.open_job(config.job_id, config.n_clients, config.max_weight)
        ledger = memory
    dropouts = dict(dropouts or {})
    clients = {c: Client(config, ledger, c, round, u, w, commit=commit) for c, (u, w) in updates.items()}
    aggregator = Aggregator(config, ledger, round, commit=commit)
    net = InProcessTransport(aggregator, clients, alive=set(clients))

    def drop(point: DropPoint) -> None:
        net.alive -= {c for c, p in dropouts.items() if p is point}

    def close() -> list[Outgoing]:
        # A ledger with fair deadlines closes a phase early only once every member acted: when
        # someone vanished, the simulation waits for the deadline, as a real aggregator would.
        if aggregator.stage in (AggregatorStage.MASKING, AggregatorStage.INPUTS):
            wait = getattr(ledger, "wait_for_deadline", None)
            if wait is not None:
                wait(config.job_id, round)
        return aggregator.close()

    for c in sorted(clients):
        net.send_to_aggregator(clients[c].start())
    drop(DropPoint.BEFORE_SHARES)
    net.deliver(close())  # key broadcast → share bundles
    drop(DropPoint.AFTER_SHARES)
    net.deliver(close())  # share deliveries and the first mask set → mask commitments
    while aggregator.stage is AggregatorStage.MASKING:
        outgoing = close()  # a retry with a smaller mask set, or the input requests
        if aggregator.stage is AggregatorStage.INPUTS:
            drop(DropPoint.AFTER_MASK_COMMITMENT)
        withhold = frozenset(c for c, p in dropouts.items() if p is DropPoint.BEFORE_UPLOAD)
        net.deliver(outgoing, withhold_uploads=withhold)
    drop(DropPoint.BEFORE_UPLOAD)
    drop(DropPoint.DURING_UNMASKING)
    net.deliver(close())  # submissions close → unmask requests → shares
    if aggregator.stage is AggregatorStage.UNMASKING:
        close()
    assert aggregator.result is not None
    return aggregator.result

"""A job's public parameters: what a client needs to take part in its rounds, and nothing secret.

The job owner's `Job` holds these beside its proving key; a client elsewhere needs only these
and the ledger (no key, no setup, no circuit), so they are what the owner sends to the clients.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..aggregation import AggregationJob
from ..errors import InputError
from ..ledger import Ledger
from ..secagg import Client, SecAggConfig
from ..secagg.encoding import Layout, Update, check_weight
from .checks import check_client_id, check_update


@dataclass(frozen=True)
class JobParams:
    """The secure-aggregation parameters, the template's layout and the chunking of one job."""

    config: SecAggConfig
    layout: Layout
    chunk_len: int
    clip_updates: bool = False

    def __post_init__(self) -> None:
        if self.layout.size != self.config.model_length:
            raise InputError(f"layout: {self.layout.size} values, the job has {self.config.model_length}")

    @property
    def aggregation(self) -> AggregationJob:
        """The aggregation statement (its commitment function is what clients post)."""
        return AggregationJob(self.config, self.chunk_len)

    def client(self, ledger: Ledger, client_id: int, update: Update, weight: int, *, round: int) -> Client:
        """A client's secure-aggregation state machine for `round` (the aggregator's), with its
        update and weight checked first. Drive it with `start()` and `handle(message)`."""
        cid = check_client_id(client_id, self.config)
        try:
            w = check_weight(weight, self.config)
        except InputError as err:
            raise type(err)(f"client {cid}: {err}") from None
        flat = check_update(self.layout, self.config, update, who=f"client {cid} update",
                            clip=self.clip_updates)
        return Client(self.config, ledger, cid, round, flat, w, commit=self.aggregation.commit)

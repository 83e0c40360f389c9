"""What travels in Flower records: the job's parameters, zkagg's wire-format messages, and the
client's protocol state between two messages.

A Flower message of the zkagg protocol carries one ConfigRecord named RECORD. Its `messages` entry
is a list of zkagg messages in their own versioned byte format (`zkagg.secagg.messages`); the
round's first message also carries the job's parameters (`job.*`), the round and the receiver's
slot. Replies carry `messages` only.

Flower may run every message of a node in a fresh process, so the client's state machine lives in
the node's Context between messages: `save_client` writes it to a ConfigRecord (all secrets stay
on the node) and `load_client` rebuilds the same `Client`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from flwr.app import ConfigRecord

from ..aggregation import AggregationJob
from ..bn254.field import FrArray
from ..errors import MessageFormatError
from ..ledger import Ledger
from ..secagg.client import Client, ClientStage
from ..secagg.config import Quantization, SecAggConfig
from ..secagg.graph import neighbour_graph
from ..secagg.keys import mask_private_key
from ..secagg.messages import Message, decode, encode
from ..secagg.round import RoundId

#: the ConfigRecord of a zkagg protocol message, in the message content and in the node's state
RECORD = "zkagg"
#: the node's pinned job parameters and slot, in its Context state (kept across rounds)
JOB_RECORD = "zkagg.job"

_JOB_INTS = ("n_clients", "model_length", "bits", "frac_bits", "max_weight", "neighbours",
             "threshold", "chunk_len")


def pack_messages(messages: Iterable[Message]) -> list[bytes]:
    return [encode(m) for m in messages]


def unpack_messages(record: Mapping[str, Any]) -> list[Message]:
    raw = record.get("messages", [])
    if not isinstance(raw, list) or not all(isinstance(b, bytes) for b in raw):
        raise MessageFormatError("the zkagg record's 'messages' must be a list of bytes")
    return [decode(b) for b in raw]


def record_int(record: Mapping[str, Any], key: str) -> int:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MessageFormatError(f"the zkagg record's {key!r} must be an int")
    return value


def job_to_record(job: AggregationJob) -> dict[str, Any]:
    cfg, q = job.config, job.config.quantization
    values = {"n_clients": cfg.n_clients, "model_length": cfg.model_length, "bits": q.bits,
              "frac_bits": q.frac_bits, "max_weight": cfg.max_weight, "neighbours": cfg.neighbours,
              "threshold": cfg.shamir_threshold, "chunk_len": job.chunk_len}
    return {"job.id": cfg.job_id, "job.clip": float(q.clip), **{f"job.{k}": v for k, v in values.items()}}


def job_from_record(record: Mapping[str, Any]) -> AggregationJob:
    """The job the record describes, validated like any other configuration."""
    try:
        ints = {k: record[f"job.{k}"] for k in _JOB_INTS}
        job_id, clip = record["job.id"], record["job.clip"]
    except KeyError as exc:
        raise MessageFormatError(f"the zkagg record lacks {exc.args[0]!r}") from None
    quantization = Quantization(bits=ints["bits"], frac_bits=ints["frac_bits"], clip=clip)
    config = SecAggConfig(job_id=job_id, n_clients=ints["n_clients"], model_length=ints["model_length"],
                          quantization=quantization, max_weight=ints["max_weight"],
                          neighbours=ints["neighbours"], threshold=ints["threshold"])
    return AggregationJob(config, chunk_len=ints["chunk_len"])


def save_client(client: Client) -> ConfigRecord:
    """Everything `load_client` needs to rebuild this client (its secrets included)."""
    state: dict[str, Any] = {
        "stage": client.stage.value, "round": client.ident.round, "slot": client.id,
        "weight": client.weight, "attempt": client._attempt,
        "seed": client._seed.to_bytes(32, "big"),
        "share_key": client._share_key.private_bytes_raw(),
        "packed": client._packed.to_bytes(),
        "mask": client._mask.to_bytes() if client._mask is not None else b"",
        "keys.ids": sorted(client._keys),
        "keys.mask": [client._keys[c][0] for c in sorted(client._keys)],
        "keys.share": [client._keys[c][1] for c in sorted(client._keys)],
        "held.ids": sorted(client._held),
        "held.shares": [client._held[c].to_bytes(32, "big") for c in sorted(client._held)],
    }
    return ConfigRecord(state)


def load_client(state: Mapping[str, Any], job: AggregationJob, ledger: Ledger) -> Client:
    """The client `save_client` wrote, for this job and ledger."""
    config = job.config
    client = Client.__new__(Client)
    client.id, client.ledger, client.commit = state["slot"], ledger, job.commit
    client.ident = RoundId(config, state["round"])
    client.weight, client.stage = state["weight"], ClientStage(state["stage"])
    client._packed = FrArray.from_bytes(state["packed"])
    client._seed = int.from_bytes(state["seed"], "big")
    client._mask_key = mask_private_key(client._seed)
    client._share_key = X25519PrivateKey.from_private_bytes(state["share_key"])
    client._keys = {c: (m, s) for c, m, s in zip(state["keys.ids"], state["keys.mask"], state["keys.share"])}
    client._graph = (neighbour_graph(config.job_id, state["round"], client._keys, config.degree)
                     if client._keys else {})
    client._neighbours = client._graph.get(client.id, frozenset())
    client._held = {c: int.from_bytes(s, "big") for c, s in zip(state["held.ids"], state["held.shares"])}
    client._mask = FrArray.from_bytes(state["mask"]) if state["mask"] else None
    client._attempt = state["attempt"]
    return client

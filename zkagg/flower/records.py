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

from flwr.app import ConfigRecord

from ..aggregation import AggregationJob
from ..errors import MessageFormatError
from ..ledger import Ledger
from ..secagg.client import Client
from ..secagg.config import Quantization, SecAggConfig
from ..secagg.messages import Message, decode, encode

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
    return ConfigRecord(client.state())


def load_client(state: Mapping[str, Any], job: AggregationJob, ledger: Ledger) -> Client:
    """The client `save_client` wrote, for this job and ledger."""
    return Client.restore(state, job.config, ledger, commit=job.commit)

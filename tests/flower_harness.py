"""What the Flower tests share: a Grid that runs a ClientApp in this process (fast tests of the zkagg
mod and workflow without the simulation engine), a small model, and dropout mods.

In the in-process Grid every message and every node's state cross Flower's protobuf encoding, as they would between a
SuperLink and a SuperNode, so nothing but records survives from one message to the next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any

import numpy as np
from flwr.app import Context, Error, Message, RecordDict
from flwr.client import NumPyClient
from flwr.clientapp import ClientApp
from flwr.common.serde import (
    message_from_proto,
    message_to_proto,
    recorddict_from_proto,
    recorddict_to_proto,
)
from flwr.serverapp import Grid
from flwr.supercore.task_identity import TaskIdentity

from zkagg.flower.records import RECORD, unpack_messages


def wire(msg: Message) -> Message:
    return message_from_proto(message_to_proto(msg))


class InProcessGrid(Grid):
    def __init__(self, client_app: ClientApp, n_nodes: int,
                 spy: Callable[[Message], None] | None = None) -> None:
        self.client_app, self.spy = client_app, spy
        self.node_ids = [self.node_id(i) for i in range(n_nodes)]
        self.states = {n: RecordDict() for n in self.node_ids}
        self.configs = {n: {"partition-id": i, "num-partitions": n_nodes} for i, n in enumerate(self.node_ids)}
        self._run: Any = SimpleNamespace(run_id=1)
        TaskIdentity.task_id, TaskIdentity.run_id, TaskIdentity.node_id = 1, 1, 1  # the server's

    @staticmethod
    def node_id(partition: int) -> int:
        return 1000 + 17 * partition

    def set_run(self, run: Any) -> None:
        self._run = run

    @property
    def run(self) -> Any:
        return self._run

    def create_message(self, content: RecordDict, message_type: str, dst_node_id: int, group_id: str,
                       ttl: float | None = None) -> Message:
        return Message(content=content, dst_node_id=dst_node_id, message_type=message_type, group_id=group_id)

    def get_node_ids(self) -> Iterable[int]:
        return list(self.node_ids)

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        raise NotImplementedError

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        raise NotImplementedError

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> Iterable[Message]:
        replies = []
        for msg in messages:
            msg = wire(msg)
            node = msg.metadata.dst_node_id
            state = recorddict_from_proto(recorddict_to_proto(self.states[node]))
            context = Context(run_id=1, node_id=node, node_config=dict(self.configs[node]), state=state,
                              run_config={})
            try:
                reply = self.client_app(msg, context)
                self.states[node] = context.state
            except Exception as exc:  # noqa: BLE001 — the node failed: an error reply, as Flower sends
                reply = Message(Error(code=0, reason=f"{type(exc).__name__}: {exc}"), reply_to=msg)
            reply = wire(reply)
            if self.spy is not None:
                self.spy(reply)
            replies.append(reply)
        return replies


# -- a small model the tests train: least squares on per-partition data --------------------------

FEATURES = 6


def local_data(partition: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(100 + partition)  # test data only
    x = rng.normal(size=(20 + 7 * partition, FEATURES))
    return x, x @ np.linspace(-1, 1, FEATURES) + 0.5 + rng.normal(scale=0.1, size=len(x))


def train(params: list[np.ndarray], partition: int) -> tuple[list[np.ndarray], int]:
    """Two gradient steps of least squares on the partition's data (deterministic)."""
    w, b = params
    x, y = local_data(partition)
    for _ in range(2):
        err = x @ w + b - y
        w, b = w - 0.1 * x.T @ err / len(y), b - 0.1 * np.array([err.mean()])
    return [w, b], len(y)


def initial_parameters() -> list[np.ndarray]:
    return [np.zeros(FEATURES), np.zeros(1)]


class LinearClient(NumPyClient):
    def __init__(self, partition: int) -> None:
        self.partition = partition

    def fit(self, parameters: list[np.ndarray], config: dict[str, Any]) -> tuple[list[np.ndarray], int, dict]:
        params, n = train(parameters, self.partition)
        return params, n, {"partition": self.partition}


def client_fn(context: Context) -> Any:
    return LinearClient(int(context.node_config["partition-id"])).to_client()


def drop_on(message_type: type, round: int, partitions: set[int]) -> Callable[..., Message]:
    """A mod (outside zkagg's) that makes `partitions` fail when a zkagg message of this type
    arrives in this round: a client that drops at that point of the protocol."""

    def mod(msg: Message, ctxt: Context, call_next: Callable[[Message, Context], Message]) -> Message:
        record = msg.content.config_records.get(RECORD)
        if record is not None and int(ctxt.node_config["partition-id"]) in partitions:
            if any(isinstance(m, message_type) and m.round == round for m in unpack_messages(record)):
                raise RuntimeError("simulated dropout")
        return call_next(msg, ctxt)

    return mod


def partition_of_slot(ledger: Any, job_id: bytes, rounds: Iterable[int]) -> dict[int, int]:
    """Which partition holds which slot, recovered from the weights posted on the ledger."""
    sizes = {len(local_data(p)[1]): p for p in range(64)}
    return {slot: sizes[weight] for r in rounds for slot, (_, weight) in ledger.submissions(job_id, r).items()}

"""Flower's Message-API strategies (`flwr.serverapp.strategy.FedAvg(...).start(grid=...)`) over
proved zkagg rounds: a Grid adapter.

    workflow = ZkaggWorkflow(n_clients=5, ledger=..., ptau=...)
    FedAvg(...).start(grid=ZkaggGrid(grid, workflow), initial_arrays=ArrayRecord(...), num_rounds=3)

The strategy samples nodes and builds its train messages as usual; `ZkaggGrid` runs them as one
zkagg round (the ClientApps use `zkagg_mod`, with a legacy client or an `@app.train` function)
and answers with a single reply: the proved weighted mean under the strategy's array key and a
`metrics` record whose weight (`weighted_by`, FedAvg's `num-examples`) is N = Σ w_u, beside the
survivors' shared train metrics averaged with their weights. Any strategy
that takes a weighted mean of replies (FedAvg, FedAdam, FedYogi, FedProx, ...) thus gets exactly
the proved mean. A halted round returns no reply: the strategy keeps its model. Every other
message (evaluate, query) goes to the wrapped grid unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flwr.app import Array, ArrayRecord, Message, MessageType, MetricRecord, RecordDict
from flwr.serverapp import Grid

from ..errors import InputError
from .train_io import NUM_EXAMPLES
from .workflow import ZkaggWorkflow


class ZkaggGrid(Grid):
    """A Grid whose TRAIN messages become one proved zkagg round of `workflow`."""

    def __init__(self, grid: Grid, workflow: ZkaggWorkflow, *, weighted_by: str = NUM_EXAMPLES) -> None:
        if not isinstance(workflow, ZkaggWorkflow):
            raise InputError("workflow must be a ZkaggWorkflow")
        if not isinstance(weighted_by, str) or not weighted_by:
            raise InputError("weighted_by must be the strategy's weight metric, e.g. 'num-examples'")
        self.grid, self.workflow, self.weighted_by = grid, workflow, weighted_by
        self._round = 0

    # -- the wrapped grid ------------------------------------------------------------------

    def set_run(self, run: Any) -> None:
        self.grid.set_run(run)

    @property
    def run(self) -> Any:
        return self.grid.run

    def create_message(self, content: RecordDict, message_type: str, dst_node_id: int, group_id: str,
                       ttl: float | None = None) -> Message:
        return self.grid.create_message(content, message_type, dst_node_id, group_id, ttl)

    def get_node_ids(self) -> Iterable[int]:
        return self.grid.get_node_ids()

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        return self.grid.push_messages(messages)

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return self.grid.pull_messages(message_ids)

    # -- a round ---------------------------------------------------------------------------

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> Iterable[Message]:
        messages = list(messages)
        train = [m for m in messages if m.metadata.message_type == MessageType.TRAIN]
        if not train:
            return self.grid.send_and_receive(messages, timeout=timeout)
        if len(train) != len(messages):
            raise InputError("a batch mixes train messages with others: send them separately")
        instructions = [(m.metadata.dst_node_id, *_instructions(m)) for m in train]
        keys = list(instructions[0][1].keys())
        round = self._round_of(instructions[0][2])
        if self.workflow.timeout is None and timeout is not None:
            self.workflow.timeout = timeout
        record = self.workflow.run_round(self.grid, round, instructions,
                                         n_nodes=len(list(self.grid.get_node_ids())))
        if record is None:
            return []
        survivor = min(n for n, s in self.workflow.slots.items() if s in record.survivors
                       and n in {m.metadata.dst_node_id for m in train})
        arrays = ArrayRecord({k: Array(a) for k, a in zip(keys, record.parameters)})
        metrics: dict[str, Any] = {**weighted_mean(self.workflow.metrics(round)),
                                   self.weighted_by: record.proof.total_weight}
        content = RecordDict({_array_key(train[0]): arrays, "metrics": MetricRecord(metrics)})
        reply = Message(content, reply_to=next(m for m in train if m.metadata.dst_node_id == survivor))
        return [reply]

    def _round_of(self, config: dict[str, Any]) -> int:
        """The strategy's round number (`server-round`), else the next one; each is used once."""
        given = config.get("server-round")
        round = given if isinstance(given, int) and not isinstance(given, bool) else self._round + 1
        if round <= self._round:
            raise InputError(f"round {round} is not after the last round {self._round}")
        self._round = round
        return round


def weighted_mean(pairs: list[tuple[int, dict[str, Any]]]) -> dict[str, float]:
    """Each numeric train metric averaged over the nodes that reported it, weighted by their
    weights (what FedAvg's default metric aggregation computes from per-node replies)."""
    sums: dict[str, list[float]] = {}
    for weight, metrics in pairs:
        for key, value in metrics.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                acc = sums.setdefault(key, [0.0, 0.0])
                acc[0] += weight * value
                acc[1] += weight
    return {k: total / w for k, (total, w) in sums.items() if w > 0}


def _array_key(msg: Message) -> str:
    keys = list(msg.content.array_records.keys())
    if len(keys) != 1:
        raise InputError(f"a train message must carry one ArrayRecord (the global model), not {len(keys)}")
    return keys[0]


def _instructions(msg: Message) -> tuple[ArrayRecord, dict[str, Any]]:
    arrays = msg.content.array_records[_array_key(msg)]
    configs = list(msg.content.config_records.values())
    if len(configs) > 1:
        raise InputError("a train message must carry at most one ConfigRecord (the train config)")
    return arrays, dict(configs[0]) if configs else {}

"""The ClientApp: a Message-API `@app.train` function under `zkagg_mod`; the ledger's address and
key come from the run config, so nothing is set up by hand on the nodes."""

from __future__ import annotations

import torch
from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from zkagg.flower import RemoteLedger, zkagg_mod

from .settings import settings
from .task import Net, evaluate, train


def node_ledger(context: Context) -> RemoteLedger:
    """The ledger the server app serves, from the run config (a module-level function: picklable)."""
    cfg = settings(context.run_config)
    return RemoteLedger(("127.0.0.1", cfg["ledger-port"]), bytes.fromhex(cfg["ledger-key"]))


app = ClientApp(mods=[zkagg_mod(node_ledger)])


def _net(msg: Message, context: Context) -> Net:
    torch.set_num_threads(1)  # many nodes share the machine's cores
    net = Net(settings(context.run_config)["hidden"])
    net.load_state_dict(msg.content.array_records["arrays"].to_torch_state_dict())
    return net


@app.train()
def fit(msg: Message, context: Context) -> Message:
    cfg = settings(context.run_config)
    net = _net(msg, context)
    shard, shards = int(context.node_config["partition-id"]), int(context.node_config["num-partitions"])
    n, loss = train(net, shard, shards, cfg["local-epochs"], cfg["learning-rate"])
    content = RecordDict({"arrays": ArrayRecord(net.state_dict()),
                          "metrics": MetricRecord({"num-examples": n, "train-loss": loss})})
    return Message(content, reply_to=msg)


@app.evaluate()
def check(msg: Message, context: Context) -> Message:
    net = _net(msg, context)
    n, accuracy = evaluate(net, int(context.node_config["num-partitions"]))
    return Message(RecordDict({"metrics": MetricRecord({"num-examples": n, "accuracy": accuracy})}),
                   reply_to=msg)

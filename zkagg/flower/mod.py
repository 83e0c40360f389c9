"""The client side: a Flower mod that runs zkagg's client state machine around the user's train step.

    client_app = ClientApp(client_fn=client_fn, mods=[zkagg_mod(ledger)])

A round is several TRAIN messages from `ZkaggWorkflow`. The first one carries the strategy's fit
instructions (inside zkagg's records: a ClientApp without this mod finds none and fails before it
trains, see `train_io`) and the job's parameters: the mod calls the user's unmodified train
function with them (a legacy `client_fn` client or a Message-API `@app.train` function), checks
the update like `zkagg.fl.Job` does (`checks`), encodes the returned parameters (weight: the number of examples) into a new `Client` with
fresh round keys, and answers with the client's key advertisement. Every later message carries
zkagg protocol messages for the client; the mod answers with the client's replies. The client
posts its own commitments to the ledger; the server never receives the update in the clear. The
train reply's numeric metrics go with the first reply (`share_metrics=False` keeps them).

Other message types (evaluate, query) pass through unchanged. A TRAIN message without the zkagg
protocol is refused: this client never sends an unmasked update.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flwr.app import ConfigRecord, Context, Message, MessageType, RecordDict

from ..errors import InputError, ProtocolError
from ..ledger import Ledger
from ..secagg.client import Client, ClientStage
from ..secagg.encoding import Layout
from .checks import check_node_update, check_weight_of_node
from .ledger import check_ledger
from .records import (
    JOB_RECORD,
    RECORD,
    job_from_record,
    job_to_record,
    load_client,
    pack_messages,
    record_int,
    save_client,
    unpack_messages,
)
from .train_io import METRICS, as_arrays, instructions, metrics_record, train_message, train_result

#: the node's client state between two messages of a round, in its Context state
CLIENT_RECORD = "zkagg.client"

ClientAppCallable = Callable[[Message, Context], Message]
LedgerSource = Ledger | Callable[[Context], Ledger]


def as_named_arrays(arrays: list[Any]) -> dict[str, Any]:
    """Flower's list of parameter arrays as the mapping zkagg encodes ("0", "1", … in order)."""
    return {str(i): a for i, a in enumerate(arrays)}


class ZkaggMod:
    """The mod `zkagg_mod(ledger)` returns (picklable, so simulation workers can run it)."""

    def __init__(self, ledger: LedgerSource, *, share_metrics: bool = True) -> None:
        if not callable(ledger):
            check_ledger(ledger)
        if not isinstance(share_metrics, bool):
            raise InputError(f"share_metrics must be True or False, not {share_metrics!r}")
        self.ledger, self.share_metrics = ledger, share_metrics

    def _ledger(self, ctxt: Context) -> Ledger:
        if callable(self.ledger):
            return self.ledger(ctxt)
        return self.ledger

    def __call__(self, msg: Message, ctxt: Context, call_next: ClientAppCallable) -> Message:
        if msg.metadata.message_type != MessageType.TRAIN:
            return call_next(msg, ctxt)
        record = msg.content.config_records.get(RECORD)
        if record is None:
            raise ProtocolError("a train message without the zkagg protocol: refusing to send an unmasked update")
        if "job.id" in record:
            client, metrics = self._start(msg, record, ctxt, call_next)
            out = client.start()
        else:
            client, metrics = self._restore(ctxt), {}
            out = []
            for m in unpack_messages(record):
                out += client.handle(m)
        if client.stage is ClientStage.DONE:
            ctxt.state.config_records.pop(CLIENT_RECORD, None)
        else:
            ctxt.state.config_records[CLIENT_RECORD] = save_client(client)
        content = RecordDict({RECORD: ConfigRecord({"messages": pack_messages(out)})})
        if metrics and self.share_metrics:  # what the train function returned for the strategy
            content[METRICS] = metrics_record(metrics)
        return Message(content, reply_to=msg)

    def _start(self, msg: Message, record: ConfigRecord, ctxt: Context,
               call_next: ClientAppCallable) -> tuple[Client, dict[str, Any]]:
        """Check the job against the node's pinned one, train, and make this round's client."""
        job = job_from_record(record)
        slot, round = record_int(record, "slot"), record_int(record, "round")
        pinned = ctxt.state.config_records.get(JOB_RECORD)
        if pinned is not None and pinned["job.id"] == job.config.job_id:
            if {k: v for k, v in pinned.items() if k.startswith("job.")} != job_to_record(job):
                raise ProtocolError("the server changed the job's parameters mid-job")
            if record_int(pinned, "slot") != slot:
                raise ProtocolError(f"this node holds slot {record_int(pinned, 'slot')} of the job, not {slot}")
            if round <= record_int(pinned, "round"):
                raise ProtocolError(f"round {round} is not after this node's last round {record_int(pinned, 'round')}")
        ctxt.state.config_records[JOB_RECORD] = ConfigRecord({**job_to_record(job), "slot": slot, "round": round})

        model, config = instructions(msg.content)
        layout = Layout.of(as_named_arrays(as_arrays(model)))
        if layout.size != job.config.model_length:
            raise InputError(f"the global model has {layout.size} values, the job {job.config.model_length}")
        result = train_result(call_next(train_message(msg, model, config), ctxt))
        weight = check_weight_of_node(result.num_examples, job.config)
        flat = check_node_update(layout, job.config, as_named_arrays(result.arrays),
                                 clip=record.get("clip_updates") is True)
        client = Client(job.config, self._ledger(ctxt), slot, round, flat, weight, commit=job.commit)
        return client, result.metrics

    def _restore(self, ctxt: Context) -> Client:
        pinned = ctxt.state.config_records.get(JOB_RECORD)
        state = ctxt.state.config_records.get(CLIENT_RECORD)
        if pinned is None or state is None:
            raise ProtocolError("a zkagg message for a round this node has not started")
        return load_client(state, job_from_record(pinned), self._ledger(ctxt))


def zkagg_mod(ledger: LedgerSource, *, share_metrics: bool = True) -> ZkaggMod:
    """The client mod for a job on `ledger`: a Ledger, or a function of the node's Context that
    makes one (e.g. a chain client for the account named in the node's config). The train
    function's numeric metrics go to the strategy (in the clear, as in plain Flower) unless
    `share_metrics=False`; the update itself never does."""
    return ZkaggMod(ledger, share_metrics=share_metrics)

"""The zkagg mod and workflow without the simulation engine (an in-process Grid): what the server
sees, dropouts at each stage, a halted round, a node speaking for another slot, bad configuration,
the client state kept in Flower records, and the served ledger."""

from __future__ import annotations

import pickle
import secrets
from collections.abc import Callable
from multiprocessing import AuthenticationError
from typing import Any

import numpy as np
import pytest

pytest.importorskip("flwr")

from flwr.app import ConfigRecord, Context, Message, MessageType, RecordDict  # noqa: E402
from flwr.clientapp import ClientApp  # noqa: E402
from flwr.common import ndarrays_to_parameters  # noqa: E402
from flwr.server import LegacyContext, ServerConfig  # noqa: E402
from flwr.server.strategy import FedAvg  # noqa: E402
from flwr.server.workflow import DefaultWorkflow  # noqa: E402

from zkagg.aggregation import AggregationJob  # noqa: E402
from zkagg.bn254.field import FrArray  # noqa: E402
from zkagg.errors import BudgetError, InputError, LedgerError, MessageFormatError, ProtocolError  # noqa: E402
from zkagg.flower import LedgerServer, RemoteLedger, ZkaggWorkflow, zkagg_mod  # noqa: E402
from zkagg.flower.records import (  # noqa: E402
    JOB_RECORD,
    RECORD,
    job_from_record,
    job_to_record,
    load_client,
    save_client,
    unpack_messages,
)
from zkagg.flower.train_io import METRICS  # noqa: E402
from zkagg.ledger import MemoryLedger  # noqa: E402
from zkagg.secagg import Aggregator, AggregatorStage, Client, Quantization, SecAggConfig  # noqa: E402
from zkagg.secagg import encode as encode_update  # noqa: E402
from zkagg.secagg.messages import (  # noqa: E402
    InputRequest,
    KeyAdvert,
    KeyBroadcast,
    MaskSetNotice,
    UnmaskRequest,
    decode,
    encode,
)

from .flower_harness import (  # noqa: E402
    InProcessGrid,
    client_fn,
    drop_on,
    initial_parameters,
    partition_of_slot,
    train,
)

Q = Quantization(bits=16, frac_bits=12, clip=4.0)


def run(n_nodes: int, rounds: int, mods: list[Any] | None = None, spy: Callable[[Message], None] | None = None,
        **options: Any) -> tuple[ZkaggWorkflow, MemoryLedger, dict[int, list[np.ndarray]]]:
    ledger = MemoryLedger()
    settings: dict[str, Any] = dict(n_clients=n_nodes, ledger=ledger, quantization=Q, max_weight=1000,
                                    neighbours=3, chunk_len=8, setup="insecure_single_party_setup")
    settings.update(options)
    workflow = ZkaggWorkflow(**settings)
    seen: dict[int, list[np.ndarray]] = {}

    def record_global(round: int, params: list[np.ndarray], config: dict) -> None:
        seen[round] = [np.array(p) for p in params]

    strategy = FedAvg(initial_parameters=ndarrays_to_parameters(initial_parameters()), fraction_evaluate=0.0,
                      min_fit_clients=n_nodes, min_available_clients=n_nodes, evaluate_fn=record_global)
    client_app = ClientApp(client_fn=client_fn, mods=[*(mods or []), zkagg_mod(ledger)])
    grid = InProcessGrid(client_app, n_nodes, spy)
    server = Context(run_id=1, node_id=0, node_config={}, state=RecordDict(), run_config={})
    context = LegacyContext(server, config=ServerConfig(num_rounds=rounds), strategy=strategy)
    DefaultWorkflow(fit_workflow=workflow)(grid, context)
    return workflow, ledger, seen


def test_the_server_sees_only_zkagg_messages_and_gets_the_exact_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    setups = []
    import zkagg.flower.workflow as wf

    real_setup = wf.job_proving_key
    monkeypatch.setattr(wf, "job_proving_key", lambda r1cs, **kw: setups.append(r1cs) or real_setup(r1cs, **kw))
    replies: list[Message] = []
    workflow, ledger, seen = run(3, 2, spy=replies.append)
    assert len(setups) == 1  # one Groth16 setup for the job, reused every round
    assert sorted(workflow.rounds) == [1, 2] and workflow.halted == {}
    for reply in replies:
        assert not reply.has_error()
        # no parameters or num_examples; the train function's metrics only if it returned some
        assert set(reply.content.keys()) <= {RECORD, METRICS}
        assert list(reply.content.config_records[RECORD].keys()) == ["messages"]
        if METRICS in reply.content:
            assert list(reply.content.metric_records[METRICS].keys()) == ["partition"]
    kinds = {type(m).__name__ for r in replies for m in unpack_messages(r.content.config_records[RECORD])}
    # nobody dropped, yet an unmasking stage: the survivors' self-masks come off once U is fixed
    assert kinds == {"KeyAdvert", "ShareBundle", "MaskedInput", "UnmaskShares"}
    job = workflow.job
    assert job is not None
    partitions = partition_of_slot(ledger, job.config.job_id, [1])
    for round, record in workflow.rounds.items():
        assert all(np.array_equal(g, p) for g, p in zip(seen[round], record.parameters))
        updates = [train(seen[round - 1], partitions[s]) for s in record.survivors]
        for i, got in enumerate(record.parameters):
            plain = sum(p[i] * n for p, n in updates) / sum(n for _, n in updates)
            assert np.max(np.abs(got - plain)) <= 2.0 ** -(Q.frac_bits + 1) + 1e-12
    # each node kept its slot
    assert len(workflow.slots) == 3 and sorted(workflow.slots.values()) == [0, 1, 2]


@pytest.mark.parametrize("stage, in_mask_set, recovered", [
    (KeyBroadcast, False, False),  # advertised keys, never shared: not in the mask set
    (MaskSetNotice, False, False),  # shared, never committed its mask: the mask set shrinks
    (InputRequest, True, True),  # committed its mask, never submitted: dropped, mask rebuilt
    (UnmaskRequest, True, False),  # submitted, never helped unmask: still a survivor
])
def test_a_node_dropping_at_any_stage_leaves_a_proved_round(stage: type, in_mask_set: bool, recovered: bool) -> None:
    mods = [drop_on(stage, 1, {2})]  # (double masking: every round has an unmasking stage)
    workflow, ledger, seen = run(5, 1, mods=mods, neighbours=4)
    assert workflow.halted == {}
    record = workflow.rounds[1]
    slot = workflow.slots[InProcessGrid.node_id(2)]
    assert (slot in record.dropped) == recovered
    assert (slot in record.survivors) == (stage is UnmaskRequest)
    final = ledger.mask_set(workflow.job_id, 1)
    assert final is not None and (slot in final.members) == in_mask_set
    assert all(np.array_equal(g, p) for g, p in zip(seen[1], record.parameters))


def test_too_many_dropouts_halt_the_round_and_keep_the_model() -> None:
    workflow, ledger, seen = run(4, 1, mods=[drop_on(InputRequest, 1, {0, 1, 2})])
    assert workflow.rounds == {} and "survivor" in workflow.halted[1]
    assert all(np.array_equal(g, p) for g, p in zip(seen[1], initial_parameters()))  # unchanged
    assert ledger.model_hash(workflow.job_id, 1) is None


def test_a_node_speaking_for_another_slot_is_cut_out() -> None:
    def impersonate(msg: Message, ctxt: Context, call_next: Any) -> Message:
        reply = call_next(msg, ctxt)
        if int(ctxt.node_config["partition-id"]) == 1 and RECORD in reply.content.config_records:
            record = reply.content.config_records[RECORD]
            forged = [encode(KeyAdvert(job_id=m.job_id, round=m.round, sender=(m.sender + 1) % 4,
                                       mask_key=m.mask_key, share_key=m.share_key))
                      if isinstance(m, KeyAdvert) else encode(m) for m in unpack_messages(record)]
            record["messages"] = forged
        return reply

    workflow, _, _ = run(4, 1, mods=[impersonate])
    record = workflow.rounds[1]
    assert len(record.survivors) == 3 and workflow.slots[InProcessGrid.node_id(1)] not in record.survivors


def test_bad_configuration_raises_named_errors_before_anything_runs() -> None:
    ledger = MemoryLedger()
    with pytest.raises(BudgetError, match="slot needs"):  # 2^40 × 2^32 weights cannot be summed in 62 bits
        ZkaggWorkflow(n_clients=1 << 10, ledger=ledger, max_weight=1 << 32, quantization=Quantization(bits=40, frac_bits=30))
    with pytest.raises(BudgetError, match="clip"):
        ZkaggWorkflow(n_clients=4, ledger=ledger, quantization=Quantization(bits=8, frac_bits=8, clip=4.0))
    with pytest.raises(InputError, match="n_clients"):
        ZkaggWorkflow(n_clients=1, ledger=ledger)
    with pytest.raises(InputError, match="chunk_len"):
        ZkaggWorkflow(n_clients=4, ledger=ledger, chunk_len=0)
    with pytest.raises(InputError, match="timeout"):
        ZkaggWorkflow(n_clients=4, ledger=ledger, timeout=-1)
    with pytest.raises(InputError, match="not a Ledger"):
        ZkaggWorkflow(n_clients=4, ledger=object())  # type: ignore[arg-type]
    with pytest.raises(InputError, match="not a Ledger"):
        zkagg_mod(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ZkaggWorkflow(4, ledger)  # type: ignore[misc]  # keyword-only


def test_the_mod_refuses_plain_training_and_server_tricks() -> None:
    ledger = MemoryLedger()
    mod = zkagg_mod(ledger)
    ctxt = Context(run_id=1, node_id=5, node_config={"partition-id": 0}, state=RecordDict(), run_config={})

    def never(msg: Message, ctxt: Context) -> Message:
        raise AssertionError("the train function must not run")

    plain = Message(content=RecordDict(), dst_node_id=5, message_type=MessageType.TRAIN)
    with pytest.raises(ProtocolError, match="unmasked"):
        mod(plain, ctxt, never)
    evaluate = Message(content=RecordDict(), dst_node_id=5, message_type=MessageType.EVALUATE)
    assert mod(evaluate, ctxt, lambda m, c: m) is evaluate  # other messages pass through

    config = SecAggConfig(job_id=secrets.token_bytes(32), n_clients=4, model_length=7, quantization=Q,
                          max_weight=1000, neighbours=3)
    job = AggregationJob(config, chunk_len=8)
    ctxt.state.config_records[JOB_RECORD] = ConfigRecord({**job_to_record(job), "slot": 2, "round": 3})

    def start(job: AggregationJob, slot: int, round: int) -> Message:
        record = ConfigRecord({**job_to_record(job), "slot": slot, "round": round, "messages": []})
        return Message(content=RecordDict({RECORD: record}), dst_node_id=5, message_type=MessageType.TRAIN)

    other = AggregationJob(SecAggConfig(job_id=config.job_id, n_clients=4, model_length=7, quantization=Q,
                                        max_weight=1000, neighbours=3, threshold=1), chunk_len=8)
    with pytest.raises(ProtocolError, match="changed the job"):
        mod(start(other, 2, 4), ctxt, never)
    with pytest.raises(ProtocolError, match="slot 2"):
        mod(start(job, 1, 4), ctxt, never)
    with pytest.raises(ProtocolError, match="not after"):
        mod(start(job, 2, 3), ctxt, never)
    step = Message(content=RecordDict({RECORD: ConfigRecord({"messages": []})}), dst_node_id=5,
                   message_type=MessageType.TRAIN)
    with pytest.raises(ProtocolError, match="not started"):
        mod(step, ctxt, never)
    bad = dict(job_to_record(job))
    del bad["job.clip"]
    with pytest.raises(MessageFormatError, match="job.clip"):
        job_from_record(bad)
    bad = {**job_to_record(job), "job.bits": 70}
    with pytest.raises(InputError, match="bits"):
        job_from_record(bad)


def test_a_client_saved_and_restored_between_every_message_finishes_the_round() -> None:
    config = SecAggConfig(job_id=secrets.token_bytes(32), n_clients=5, model_length=30, quantization=Q,
                          max_weight=1000, neighbours=4)
    job = AggregationJob(config, chunk_len=8)
    ledger = MemoryLedger()
    ledger.open_job(config.job_id, 5, 1000)
    rng = np.random.default_rng(3)  # test data only
    updates = {c: (rng.uniform(-2, 2, 30), int(rng.integers(1, 1000))) for c in range(5)}
    fresh = Client(config, ledger, 0, 0, *updates[0], commit=job.commit)
    assert set(vars(fresh)) == {  # every attribute of Client is saved, or derived on load
        "id", "ledger", "commit", "ident", "weight", "_packed", "stage", "_seed", "_mask_key", "signer",
        "_share_key", "_keys", "_neighbours", "_graph", "_held", "_mask", "_attempt", "_self_seed"}
    states = {}
    aggregator = Aggregator(config, ledger, 0, commit=job.commit)
    for c, (u, w) in updates.items():
        client = Client(config, ledger, c, 0, u, w, commit=job.commit)
        for m in client.start():
            aggregator.handle(decode(encode(m)))
        states[c] = pickle.dumps(dict(save_client(client)))
    gone = 4  # commits its mask, then drops: recovered from the others' shares
    while aggregator.stage is not AggregatorStage.DONE:
        for c, msg in aggregator.close():
            if c == gone and isinstance(msg, InputRequest):
                continue
            client = load_client(pickle.loads(states[c]), job, ledger)
            for reply in client.handle(decode(encode(msg))):
                aggregator.handle(decode(encode(reply)))
            states[c] = pickle.dumps(dict(save_client(client)))
    result = aggregator.result
    assert result is not None and result.dropped == (gone,)
    expected = FrArray.zeros(config.n_elements)
    for c in range(4):
        expected = expected + encode_update(*updates[c], config)
    assert result.aggregate == expected


def test_the_served_ledger_is_one_ledger_for_every_handle() -> None:
    with LedgerServer(MemoryLedger()) as served:
        remote = pickle.loads(pickle.dumps(served.remote()))  # as a worker process receives it
        remote.open_job(b"\x01" * 32, 3, 10)
        assert served.ledger.mask_set(b"\x01" * 32, 0) is None
        remote.post_mask_set(b"\x01" * 32, 0, 0, (0, 1, 2))
        assert served.ledger.mask_set(b"\x01" * 32, 0).members == (0, 1, 2)
        with pytest.raises(LedgerError, match="next attempt"):  # the ledger's own error, unchanged
            remote.post_mask_set(b"\x01" * 32, 0, 5, (0, 1))
        with pytest.raises(AttributeError):
            remote._rounds  # noqa: B018  # only the Ledger's methods are served
        with pytest.raises(LedgerError, match="no method"):
            remote._call("_rounds")
        with pytest.raises(AuthenticationError):
            RemoteLedger(served.address, b"wrong key").mask_set(b"\x01" * 32, 0)

"""The server side: a Flower fit workflow that runs each round as a proved zkagg round.

    workflow = DefaultWorkflow(fit_workflow=ZkaggWorkflow(n_clients=4, ledger=ledger))
    workflow(grid, LegacyContext(context, config=ServerConfig(num_rounds=3), strategy=FedAvg()))

Per round: the strategy's `configure_fit` picks the clients and their fit instructions; each
sampled node keeps one slot of the job for the whole job. The workflow drives the zkagg
aggregator's stages (keys → shares → masking, with retries → inputs → unmasking), one Flower
message per client and stage, with zkagg's wire-format messages inside. A node that fails,
answers late or sends something the aggregator refuses is out for the rest of the round; the
ledger fixes who dropped and their masks are recovered. The finished round is proved (one Groth16
setup per job, made at the first round and reused), accepted on the ledger, and the decoded
weighted mean goes to the strategy's `aggregate_fit` as one result that weighs N = Σ w_u: with
FedAvg the new global model is exactly the proved mean. Per-client parameters and metrics never
reach the server.
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flwr.app import ConfigRecord, Context, Message, MessageType, RecordDict
from flwr.common import Code, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.compat.common import recorddict_compat as compat
from flwr.server.compat.legacy_context import LegacyContext
from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, MAIN_PARAMS_RECORD, Key
from flwr.serverapp import Grid

from ..aggregation import AggregationJob, RoundProof, prove_round
from ..ceremony.job_keys import PtauSource, check_key_sources, job_proving_key
from ..ceremony.zkey import Zkey
from ..chain.store import ContentStore
from ..chain.store import Model as StoredModel
from ..errors import DropoutError, InputError, LedgerError, ProtocolError, ZkaggError, check_int
from ..fl.job import LedgerFactory, open_ledger
from ..groth16 import ProvingKey
from ..ledger import Ledger
from ..secagg.aggregator import Aggregator, AggregatorStage, RoundResult
from ..secagg.config import Quantization, SecAggConfig
from ..secagg.encoding import Layout, decode
from .checks import log
from .ledger import check_ledger
from .mod import as_named_arrays
from .records import RECORD, job_to_record, pack_messages, unpack_messages
from .train_io import METRICS, Model, as_arrays, hidden_instructions


@dataclass(frozen=True)
class RoundRecord:
    """A proved round as the workflow finished it (slots, not node ids)."""

    round: int
    survivors: tuple[int, ...]
    dropped: tuple[int, ...]
    proof: RoundProof
    model_hash: bytes  # what the ledger stored when it accepted the proof
    parameters: list[np.ndarray] = field(repr=False)  # the decoded weighted mean, in model order


class ZkaggWorkflow:
    """Secure, proved aggregation as the fit step of Flower's DefaultWorkflow.

    n_clients: the job's client slots (a node keeps its slot for the whole job, so every node that
    may be sampled needs one: more nodes than slots is refused at the first round). ledger: the
    ledger the clients use too, or a factory `(aggregation_job, verifying_key) -> Ledger` such as
    `functools.partial(ChainLedger.create, chain)`, as for `zkagg.fl.Job`; the workflow opens the
    job on it at the first round (`self.ledger` is then the opened ledger). `store`: a
    ContentStore that receives every accepted model (what `zkagg audit --store` checks). `clip_updates`: as
    for Job, values outside the clip range are refused by the client's mod (BudgetError naming
    the tensor) unless True, which clips them with a warning naming the tensor. The other
    parameters are the job's (see SecAggConfig and AggregationJob; without a chunk_len, chunks
    fill a 2^19-row proving domain, `AggregationJob.fitting`). Everything is checked here, the
    quantization budget included, before any round runs. Keys as for `zkagg.fl.Job`: `ptau=`
    (derived at the first round), a `Zkey` with its `ptau=`, or setup="insecure_single_party_setup".
    """

    def __init__(self, *, n_clients: int, ledger: Ledger | LedgerFactory, quantization: Quantization | None = None,
                 max_weight: int = 1 << 16, neighbours: int = 10, threshold: int | None = None,
                 chunk_len: int | None = None, job_id: bytes | None = None, timeout: float | None = None,
                 ptau: PtauSource | None = None, proving_key: ProvingKey | Zkey | None = None,
                 setup: str | None = None, clip_updates: bool = False,
                 store: ContentStore | None = None) -> None:
        self.job_id = job_id if job_id is not None else secrets.token_bytes(32)
        self.quantization = quantization if quantization is not None else Quantization()
        if not isinstance(self.quantization, Quantization):
            raise InputError("quantization must be a zkagg.secagg.Quantization")
        # every bound and the overflow budget, with a stand-in model length (the budget does not
        # depend on it; the real length is the global model's, known at the first round)
        self._config_args: dict[str, Any] = dict(
            job_id=self.job_id, n_clients=n_clients, quantization=self.quantization,
            max_weight=max_weight, neighbours=neighbours, threshold=threshold)
        SecAggConfig(model_length=1, **self._config_args)
        self.chunk_len = check_int("chunk_len", chunk_len, 1) if chunk_len is not None else None
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float)
                                    or not timeout > 0):
            raise InputError(f"timeout must be None or a number of seconds > 0, not {timeout!r}")
        self.timeout = timeout
        if not isinstance(clip_updates, bool):
            raise InputError(f"clip_updates must be True or False, not {clip_updates!r}")
        self.clip_updates = clip_updates
        if store is not None and not isinstance(store, ContentStore):
            raise InputError("store must be a zkagg.chain.store.ContentStore")
        self.store = store
        if hasattr(ledger, "open_job") or not callable(ledger):
            check_ledger(ledger)
        self._ledger_source: Ledger | LedgerFactory = ledger
        # keys need a verifiable transcript unless setup="insecure_single_party_setup" (job_keys)
        check_key_sources(proving_key, ptau, setup)
        self._keys: dict[str, Any] = dict(proving_key=proving_key, ptau=ptau, setup=setup)
        self.ledger: Ledger = ledger  # type: ignore[assignment]  # the opened one once the job exists
        self.job: AggregationJob | None = None
        self.proving_key: ProvingKey | None = None
        self.slots: dict[int, int] = {}  # Flower node id → the job's slot
        self.rounds: dict[int, RoundRecord] = {}
        self.halted: dict[int, str] = {}  # rounds that did not complete, and why
        self.failures: dict[int, dict[int, str]] = {}  # round → {node id: why it was out of the round}
        self._shared: dict[int, dict[int, dict[str, Any]]] = {}  # round → {slot: train metrics}

    # -- the job --------------------------------------------------------------------------

    def _job_for(self, layout: Layout) -> AggregationJob:
        """The job, made at the first round: setup once, job opened on the ledger."""
        if self.job is None:
            config = SecAggConfig(model_length=layout.size, **self._config_args)
            job = (AggregationJob(config, chunk_len=self.chunk_len) if self.chunk_len is not None
                   else AggregationJob.fitting(config))
            log.info("zkagg: Groth16 setup for job %s (%d constraints per chunk) ...",
                     self.job_id.hex(), job.r1cs.n_constraints)
            start = time.perf_counter()
            pk = job_proving_key(job.r1cs, **self._keys)
            log.info("zkagg: setup done in %.1f s; opening the job on the ledger", time.perf_counter() - start)
            self.ledger = open_ledger(self._ledger_source, job, pk.vk)
            self.job, self.proving_key = job, pk
        if layout.size != self.job.config.model_length:
            raise InputError(f"the global model has {layout.size} values; the job was set up for "
                             f"{self.job.config.model_length}")
        return self.job

    def _assign(self, node_ids: list[int]) -> dict[int, int]:
        """slot → node for this round's nodes; a new node takes the lowest free slot."""
        taken = set(self.slots.values())
        free = (s for s in range(self._config_args["n_clients"]) if s not in taken)
        for node in sorted(n for n in node_ids if n not in self.slots):
            slot = next(free, None)
            if slot is None:
                log.warning("zkagg: node %d left out: all %d slots of the job are taken",
                            node, self._config_args["n_clients"])
                continue
            self.slots[node] = slot
        return {self.slots[n]: n for n in node_ids if n in self.slots}

    # -- a round --------------------------------------------------------------------------

    def __call__(self, grid: Grid, context: Context) -> None:
        if not isinstance(context, LegacyContext):
            raise InputError(f"expected a LegacyContext, got {type(context).__name__}")
        round = int(context.state.config_records[MAIN_CONFIGS_RECORD][Key.CURRENT_ROUND])  # type: ignore[arg-type]
        parameters = compat.arrayrecord_to_parameters(
            context.state.array_records[MAIN_PARAMS_RECORD], keep_input=True)
        instructions = context.strategy.configure_fit(round, parameters, context.client_manager)
        if not instructions:
            log.info("zkagg: configure_fit selected no clients; round %d skipped", round)
            return
        proxies = {proxy.node_id: proxy for proxy, _ in instructions}
        record = self.run_round(grid, round, [(proxy.node_id, parameters_to_ndarrays(fitins.parameters),
                                               dict(fitins.config)) for proxy, fitins in instructions],
                                n_nodes=context.client_manager.num_available())
        if record is None:
            return
        survivor = min(n for n, s in self.slots.items() if s in record.survivors and n in proxies)
        result = FitRes(Status(Code.OK, "zkagg"), ndarrays_to_parameters(record.parameters),
                        record.proof.total_weight, {})
        failures = [ProtocolError(reason) for reason in self.failures[round].values()]
        aggregated, metrics = context.strategy.aggregate_fit(
            round, [(proxies[survivor], result)], failures)  # type: ignore[arg-type]
        aggregate_metrics = getattr(context.strategy, "fit_metrics_aggregation_fn", None)
        if aggregate_metrics is not None and self.metrics(round):
            metrics = aggregate_metrics(self.metrics(round))  # the survivors' own train metrics
        if aggregated is not None:
            context.state.array_records[MAIN_PARAMS_RECORD] = compat.parameters_to_arrayrecord(aggregated, True)
            context.history.add_metrics_distributed_fit(server_round=round, metrics=metrics)

    def run_round(self, grid: Grid, round: int, instructions: Sequence[tuple[int, Model, dict[str, Any]]],
                  *, n_nodes: int) -> RoundRecord | None:
        """One proved round over `instructions` ([(node id, global model, train config)]) on `grid`;
        `n_nodes` is how many nodes may be sampled (more than the job's slots is refused before
        the setup). Returns the accepted round, or None when it halted (`self.halted[round]`).
        The legacy `__call__` and the Message-API `ZkaggGrid` both run their rounds here."""
        if self.job is None:
            self._check_slots(n_nodes)
        layout = Layout.of(as_named_arrays(as_arrays(instructions[0][1])))
        job = self._job_for(layout)
        nodes = self._assign([node for node, _, _ in instructions])
        failures: dict[int, ZkaggError] = {}
        self.failures[round] = {}

        aggregator = Aggregator(job.config, self.ledger, round, commit=job.commit)
        start = {}
        for node, arrays, config in instructions:
            if node not in self.slots:
                continue
            # the instructions travel inside zkagg's records: a node without the mod cannot train
            content = RecordDict(hidden_instructions(arrays, config))
            content.config_records[RECORD] = ConfigRecord(
                {**job_to_record(job), "slot": self.slots[node], "round": round, "messages": [],
                 "clip_updates": self.clip_updates})
            start[self.slots[node]] = content
        try:
            self._exchange(grid, round, aggregator, start, nodes, failures)
            while aggregator.stage is not AggregatorStage.DONE:
                outgoing: dict[int, list[Any]] = defaultdict(list)
                self._wait_for_deadline(job, round, aggregator)
                for slot, msg in aggregator.close():
                    outgoing[slot].append(msg)
                contents = {s: RecordDict({RECORD: ConfigRecord({"messages": pack_messages(ms)})})
                            for s, ms in outgoing.items()}
                self._exchange(grid, round, aggregator, contents, nodes, failures)
        except ProtocolError as exc:  # DropoutError, PrivacyError: nothing is released
            log.error("zkagg: round %d halted: %s", round, exc)
            self.halted[round] = str(exc)
            return None
        assert aggregator.result is not None and self.proving_key is not None
        proving = time.perf_counter()
        record = self._prove(job, aggregator.result, layout)
        self.rounds[round] = record
        if self.store is not None:
            self._store_model(job, record)
        log.info("zkagg: round %d proved in %.1f s and accepted by the ledger (%d survivors, %d dropped, "
                 "model hash %s)", round, time.perf_counter() - proving, len(record.survivors),
                 len(record.dropped), record.model_hash.hex()[:16])
        return record

    def metrics(self, round: int) -> list[tuple[int, dict[str, Any]]]:
        """[(weight, train metrics)] of round's survivors that shared metrics (weights as the
        ledger recorded them), the form of a legacy strategy's fit_metrics_aggregation_fn."""
        record = self.rounds.get(round)
        if record is None:
            return []
        weights = {slot: w for slot, (_, w) in self.ledger.submissions(self.job_id, round).items()}
        shared = self._shared.get(round, {})
        return [(weights[s], shared[s]) for s in record.survivors if s in shared]

    def _check_slots(self, n_nodes: int) -> None:
        """Every node a strategy may sample keeps one slot for the whole job: with more nodes than
        slots, sampling would leave the late ones out of every round, so participation would fall
        round after round. Refused before the setup."""
        n_clients = self._config_args["n_clients"]
        if n_nodes > n_clients:
            raise InputError(f"{n_nodes} nodes are connected but the job has n_clients={n_clients} slots: "
                             "each node that may be sampled keeps a slot for the whole job, so make the "
                             f"workflow with n_clients >= {n_nodes}")

    def _exchange(self, grid: Grid, round: int, aggregator: Aggregator, contents: Mapping[int, RecordDict],
                  nodes: dict[int, int], failures: dict[int, ZkaggError]) -> None:
        """Send each slot's content to its node and hand the replies to the aggregator. A node that
        fails, does not answer, or sends what the aggregator refuses is out of the round."""
        messages = [Message(content=c, dst_node_id=nodes[s], message_type=MessageType.TRAIN,
                            group_id=str(round)) for s, c in contents.items() if s in nodes]
        slot_of = {n: s for s, n in nodes.items()}
        answered = set()
        for reply in grid.send_and_receive(messages, timeout=self.timeout):
            node = reply.metadata.src_node_id
            slot = slot_of.get(node)
            if slot is None or slot in answered:
                continue
            answered.add(slot)
            try:
                if reply.has_error():
                    reason = (reply.error.reason or "").strip().splitlines()
                    # a ClientApp without zkagg_mod fails here, on the hidden instructions, untrained
                    hint = (" in the round's first step (a ClientApp without zkagg_mod fails here, "
                            "before training)") if self._is_start(contents[slot]) else ""
                    raise DropoutError(f"node {node} failed: {reason[-1] if reason else reply.error.code}{hint}")
                if RECORD not in reply.content.config_records:
                    raise ProtocolError(f"node {node} answered without the zkagg protocol "
                                        "(is zkagg_mod in the ClientApp's mods?)")
                shared = reply.content.metric_records.get(METRICS)
                if shared is not None:
                    self._shared.setdefault(round, {})[slot] = dict(shared)
                for msg in unpack_messages(reply.content.config_records[RECORD]):
                    if msg.sender != slot:
                        raise ProtocolError(f"node {node} holds slot {slot} but sent as {msg.sender}")
                    aggregator.handle(msg)
            except ZkaggError as exc:
                log.warning("zkagg: round %d: slot %d is out: %s", round, slot, exc)
                failures[node] = exc
                self.failures[round][node] = str(exc)
                del nodes[slot]
        for slot in [s for s in contents if s in nodes and s not in answered]:
            failures[nodes[slot]] = DropoutError(f"node {nodes[slot]} did not answer")
            self.failures[round][nodes[slot]] = str(failures[nodes[slot]])
            del nodes[slot]

    def _store_model(self, job: AggregationJob, record: RoundRecord) -> None:
        proof = record.proof
        digest = self.store.put_model(StoredModel(proof.aggregate, proof.total_weight, job.chunk_len))  # type: ignore[union-attr]
        if digest != record.model_hash:
            raise LedgerError(f"round {record.round}: the stored model's hash is not the ledger's")

    def _wait_for_deadline(self, job: AggregationJob, round: int, aggregator: Aggregator) -> None:
        """A ledger with fair deadlines (the contract) closes a phase early only once every member
        acted: when a node is out, wait for the deadline, as `simulate_round` does."""
        wait = getattr(self.ledger, "wait_for_deadline", None)
        if wait is not None and aggregator.stage in (AggregatorStage.MASKING, AggregatorStage.INPUTS):
            wait(job.config.job_id, round)

    @staticmethod
    def _is_start(content: RecordDict) -> bool:
        record = content.config_records.get(RECORD)
        return record is not None and "job.id" in record

    def _prove(self, job: AggregationJob, result: RoundResult, layout: Layout) -> RoundRecord:
        """Prove the round, have the ledger accept it, and decode the accepted (S, N)."""
        assert self.proving_key is not None
        proof = prove_round(job, self.proving_key, result, self.ledger)
        model_hash = self.ledger.accept_round(job.config.job_id, result.round, proof)
        mean = decode(proof.aggregate, proof.total_weight, job.config)
        arrays = layout.unflatten(mean)
        return RoundRecord(result.round, result.survivors, result.dropped, proof, model_hash,
                           [arrays[str(i)] for i in range(len(arrays))])

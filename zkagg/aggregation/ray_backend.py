"""Chunk proofs of a round as Ray tasks, on a local Ray cluster or on any cluster by address.

The job (with its compiled R1CS) and the proving key are put in Ray's object store once per
`RayProver`; a task receives references to them and only its own chunk's slot data. A worker
process fetches the key once and keeps it for the next tasks of the same key (with the Montgomery
copies its first proof made), so neither the key nor the circuit is copied or rebuilt per task.
Each task runs the native core on as many threads as the CPUs Ray assigned to it.

A worker is not trusted: every proof it returns is verified here, against public inputs rebuilt
from the ledger's slots and this process's own aggregate, before it is used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from typing import Any

try:
    import ray
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("the Ray backend needs ray: pip install 'zkagg[ray]'") from exc

from ..bn254 import native_module
from ..bn254.field import FrArray
from ..errors import ProofError
from ..groth16 import ProvingKey
from ..ledger import Ledger, Slots
from ..secagg.aggregator import RoundResult
from .prover import (
    AggregationJob,
    ChunkProof,
    RoundProof,
    RoundWitness,
    check_chunk,
    prove_chunk,
)
from .ray_address import ClusterError, check_reachable


def connect(address: str | None = None, **init: Any) -> None:
    """Join the Ray cluster at `address` ("auto", "ray://head:10001", "127.0.0.1:6379"), or start
    a local one when it is None. Nothing happens if this process is already connected; extra
    keyword arguments go to `ray.init` (e.g. num_cpus for a local cluster). A head node that does
    not answer within `ray_address.PROBE_TIMEOUT_S` raises ClusterError (as does Ray refusing)."""
    if ray.is_initialized():
        return
    if address is not None:
        check_reachable(address)
    try:
        ray.init(address=address, include_dashboard=False, **init)
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise ClusterError(f"cannot join the Ray cluster at {address}: {' '.join(str(err).split())[:300]}") from None


#: in a worker process: the job and key of the last RayProver it served, by object reference
_worker_cache: dict[str, tuple[AggregationJob, ProvingKey]] = {}


def _job_and_key(refs: list[Any]) -> tuple[AggregationJob, ProvingKey]:
    tag = refs[0].hex() + refs[1].hex()
    if tag not in _worker_cache:
        _worker_cache.clear()  # one key at a time keeps a worker's memory bounded
        job, pk = ray.get(refs)
        _worker_cache[tag] = (job, pk)
    return _worker_cache[tag]


def _use_assigned_cpus() -> None:
    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
    module = native_module()
    if module is not None:
        module.lib.zkagg_set_threads(max(1, int(cpus)))


@ray.remote(max_retries=3)
def _prove_chunk_task(refs: list[Any], round: int, j: int, record: Slots, data: list[FrArray],
                      paths: list[list[int]]) -> ChunkProof:
    # refs arrive inside a list so that Ray passes the references, not the objects: the worker
    # fetches them once (_job_and_key) instead of once per task
    job, pk = _job_and_key(refs)
    _use_assigned_cpus()
    return prove_chunk(job, pk, round, j, record, data, paths)


class RayProver:
    """Proves a job's rounds on the connected Ray cluster (a local one if none is connected).

    `cpus_per_task` is what each chunk task reserves; the native core uses that many threads, and
    the cluster runs as many tasks at once as fit. At most `max_in_flight` chunks (default: twice
    the tasks that fit) are submitted at a time, so the object store holds a bounded slice of the
    round's data.
    """

    def __init__(self, job: AggregationJob, pk: ProvingKey, *, cpus_per_task: float = 1,
                 max_in_flight: int | None = None) -> None:
        connect()
        job.r1cs  # noqa: B018 - compiled here once; the workers share it through the object store
        self.job, self.vk, self.cpus_per_task = job, pk.vk, cpus_per_task
        self._refs = [ray.put(job), ray.put(pk)]
        slots = int(ray.cluster_resources().get("CPU", 1) // cpus_per_task)
        self.max_in_flight = max_in_flight or max(2, 2 * slots)

    def prove_chunks(self, witness: RoundWitness, aggregate: FrArray,
                     chunks: Iterable[int]) -> Iterator[ChunkProof]:
        """Verified proofs of the given chunks, in the order they finish; ProofError names the
        first chunk whose returned proof does not verify."""
        todo = list(chunks)
        pending: dict[Any, int] = {}
        task = _prove_chunk_task.options(num_cpus=self.cpus_per_task)
        try:
            while todo or pending:
                while todo and len(pending) < self.max_in_flight:
                    j = todo.pop(0)
                    data, paths = witness.chunk(j)
                    ref = task.remote(self._refs, witness.round, j, witness.record, data, paths)
                    pending[ref] = j
                (ready,), _ = ray.wait(list(pending), num_returns=1)
                j = pending.pop(ready)
                proof = ray.get(ready)
                if not (isinstance(proof, ChunkProof) and proof.chunk == j and check_chunk(
                        self.job, self.vk, witness.round, witness.record, aggregate, proof)):
                    raise ProofError(f"chunk {j}: the proof returned by a Ray worker does not verify")
                yield proof
        finally:
            for ref in pending:
                ray.cancel(ref)

    def prove_round(self, result: RoundResult, ledger: Ledger) -> RoundProof:
        """Like `prove_round`, with the chunks proved as Ray tasks."""
        witness = RoundWitness.of(self.job, result, ledger)
        n = self.job.layout.n_chunks
        proofs = {p.chunk: p for p in self.prove_chunks(witness, result.aggregate, range(n))}
        return RoundProof(result.round, tuple(proofs[j] for j in range(n)), result.aggregate,
                          result.total_weight)


@ray.remote(max_retries=3)
def _call_task(fn: Callable[..., Any], *args: Any) -> Any:
    _use_assigned_cpus()
    return fn(*args)


class RayExecutor(Executor):
    """A `concurrent.futures.Executor` whose tasks run on the connected Ray cluster (a local one
    if none is connected): what the v2 proof path takes, e.g.
    `KzgJob.prove(result, ledger, executor=RayExecutor())`. In `map`, an argument that is the
    same object for every task (the chunk prover with its key) goes to the object store once.
    Workers are not trusted: the v2 pipeline checks the returned proofs in its batched check."""

    def __init__(self, *, cpus_per_task: float = 1) -> None:
        connect()
        self.cpus_per_task = cpus_per_task
        self._task = _call_task.options(num_cpus=cpus_per_task)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if kwargs:
            raise TypeError("RayExecutor.submit takes positional arguments only")
        future: Future[Any] = self._task.remote(fn, *args).future()
        return future

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any], timeout: float | None = None,
            chunksize: int = 1) -> Iterator[Any]:
        columns = [list(it) for it in iterables]
        n = min((len(c) for c in columns), default=0)
        shared = [ray.put(c[0]) if n and all(x is c[0] for x in c[:n]) else None for c in columns]
        refs = [self._task.remote(fn, *(s if s is not None else c[i] for s, c in zip(shared, columns)))
                for i in range(n)]
        return iter(ray.get(refs, timeout=timeout))

"""`zkagg audit`: replay a job from the chain and re-check everything off-chain.

From the JobLedger's events alone the auditor rebuilds each round: the mask-set attempts, the
final mask set and its commitments e_u, the submissions (c_u, w_u), U and D; for every accepted
round it rebuilds the chunk circuit's public inputs, verifies every chunk proof with zkagg's own
Python verifier against the verifying key the job's verifier contract holds (proofs are read
from the acceptance transactions), checks the model hash against the outputs, and checks the
published model in content-addressed storage against its hash. The job's empty commitment is
recomputed from the job's public layout (the commitment of the zero vector), never trusted: from
`layout` when given, else from the layout of the first stored model. The report passes only if
every check holds.

A v2 job (created with createJobV2: its check is a RoundCheckV2) is replayed the same way up to
acceptance; then the revealed points are read from the acceptRoundV2 transaction and checked
against the digests the clients posted (C_u for U, E_u for D), the batched check is recomputed
with zkagg's own pairing code against the chunk key, [tau]_2 and L the RoundCheckV2 holds, and the
model hash keccak(job, round, N, L, m, h_0..h_{m-1}) is recomputed. (The binding check
MSM(S) + rho G_B = C_S needs the SRS and S: `KzgJob.audit` does it off-chain.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..aggregation.chunks import ChunkLayout
from ..aggregation.prover import context
from ..bn254 import G1Point, G2Point
from ..bn254.field import FrArray
from ..errors import InputError
from ..groth16 import VerifyingKey, verify
from .client import LedgerContract, slots_of, verifier_contract
from .store import ContentStore, StoreError
from .verifier import key_from_words, proof_from_calldata


@dataclass
class RoundReport:
    round: int
    status: str  # "accepted", "closed", "submitting", "masking", "abandoned"
    survivors: tuple[int, ...] = ()
    dropped: tuple[int, ...] = ()
    total_weight: int = 0
    model_hash: bytes | None = None
    proofs_verified: int = 0
    model_stored: bool | None = None  # None: no store given or not accepted
    problems: list[str] = field(default_factory=list)


@dataclass
class AuditReport:
    job_id: bytes
    slots: int = 0
    chunks: int = 0
    rounds: list[RoundReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(not r.problems for r in self.rounds)

    def format(self) -> str:
        lines = [f"job {self.job_id.hex()}: {self.slots} slots, {self.chunks} chunk(s) per round"]
        lines += [f"  problem: {p}" for p in self.problems]
        for r in self.rounds:
            head = f"  round {r.round}: {r.status}"
            if r.status in ("accepted", "closed"):
                head += f", U={list(r.survivors)} D={list(r.dropped)} N={r.total_weight}"
            if r.model_hash is not None:
                stored = {None: "not checked", True: "matches", False: "MISSING OR BAD"}[r.model_stored]
                head += (f", model {r.model_hash.hex()[:16]}…, {r.proofs_verified} proof(s) verified,"
                         f" stored model {stored}")
            lines.append(head)
            lines += [f"    problem: {p}" for p in r.problems]
        lines.append("audit " + ("passed" if self.ok else "FAILED"))
        return "\n".join(lines)


def _by_round(events: Iterable[Any]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    for e in events:
        out.setdefault(int(e["args"]["round"]), []).append(e)
    return out


def audit(ledger: LedgerContract, job_id: bytes, store: ContentStore | None = None, *,
          layout: ChunkLayout | None = None) -> AuditReport:
    """Replay job `job_id` from `ledger`'s events; see the module docstring."""
    report = AuditReport(job_id)
    created = ledger.events("JobCreated", job_id)
    if len(created) != 1:
        report.problems.append(f"expected one JobCreated event, found {len(created)}")
        return report
    params = created[0]["args"]["params"]
    n, m, empty = int(params["slots"]), int(params["chunks"]), int(params["emptyCommitment"])
    report.slots, report.chunks = n, m
    v2 = _v2_key(ledger, params["verifier"]) if empty == 0 else None
    vk = None if v2 is not None else _verifying_key(ledger, params["verifier"], n, report)
    events = {name: _by_round(ledger.events(name, job_id)) for name in (
        "MaskSetPosted", "MaskCommitted", "MaskingClosed", "Submitted", "SubmissionsClosed", "RoundAccepted")}
    rounds = sorted(set().union(*(set(v) for v in events.values())))
    for rnd in rounds:
        report.rounds.append(_round(ledger, job_id, rnd, n, m, empty, vk, events, store,
                                    is_last=rnd == rounds[-1], v2=v2))
    if v2 is None:
        _check_empty_commitment(report, empty, m, layout, ledger, job_id, store)
    return report


def _v2_key(ledger: LedgerContract, address: str) -> tuple[VerifyingKey, G2Point, int] | None:
    """(chunk key, [tau]_2, L) of a RoundCheckV2, or None if `address` is not one."""
    from . import round_check_v2

    try:
        words = [int(w) for w in ledger.chain.call(round_check_v2.contract(ledger.chain, address).functions.verifyingKey())]
    except Exception:  # not a RoundCheckV2: the v1 path reports what is wrong with it
        return None
    if len(words) != round_check_v2.KEY_WORDS:
        return None
    tau = G2Point.from_bytes(b"".join(w.to_bytes(32, "big") for w in words[22:26]))
    return key_from_words(words[:22]), tau, words[26]


def _check_v2(ledger: LedgerContract, job_id: bytes, rnd: int, rep: RoundReport, event: Any,
              v2: tuple[VerifyingKey, G2Point, int], posted: dict[int, tuple[int, int]],
              masks: dict[int, int], m: int) -> None:
    """The v2 acceptance replayed off-chain (see the module docstring)."""
    from ..aggregation.kzg_round import (
        ChunkEvalProof,
        KzgRoundProof,
        RoundContext,
        RoundShape,
        model_hash,
        verify_round,
    )
    from ..aggregation.pipeline import RevealError, select_points
    from ..ledger import Outcome

    vk, tau_g2, chunk_len = v2
    tx = ledger.chain.w3.eth.get_transaction(event["transactionHash"])
    try:
        fn, args = ledger.contract.decode_function_input(tx["input"])
    except ValueError as err:
        rep.problems.append(f"cannot decode the acceptance transaction: {err}")
        return
    if tx.get("to") != ledger.address or fn.fn_name != "acceptRoundV2":
        rep.problems.append("the acceptance is not a direct acceptRoundV2 call: its points cannot be read")
        return
    a = args["a"]
    fields = [a[k] for k in ("points", "rho", "opening", "proofs", "evaluations", "digests")] if isinstance(a, dict) else list(a)
    points_w, rho, opening_w, proofs_w, evals, digests = fields
    members = sorted((*rep.survivors, *rep.dropped))
    try:
        points = {k: G1Point.from_bytes(b"".join(int(w).to_bytes(32, "big") for w in points_w[2 * i : 2 * i + 2]))
                  for i, k in enumerate(members)}
        opening = G1Point.from_bytes(b"".join(int(w).to_bytes(32, "big") for w in opening_w))
        chunks = tuple(ChunkEvalProof(int(e), int(h), proof_from_calldata([int(w) for w in proofs_w[8 * j : 8 * j + 8]]))
                       for j, (e, h) in enumerate(zip(evals, digests)))
        proof = KzgRoundProof(rep.total_weight, int(rho), opening, chunks)
        ctx = RoundContext(int(ledger.chain.w3.eth.chain_id), bytes.fromhex(ledger.address[2:]), job_id, rnd)
        shape = RoundShape(m * chunk_len, chunk_len)
        c_s = select_points(ctx, Outcome(rep.survivors, rep.dropped), {u: posted[u][0] for u in rep.survivors},
                            {d: masks[d] for d in rep.dropped}, points)
        if verify_round(vk, tau_g2, ctx, shape, c_s, proof):
            rep.proofs_verified = len(chunks)
        else:
            rep.problems.append("the batched check of the round fails")
        if model_hash(ctx, shape, rep.total_weight, [int(h) for h in digests]) != rep.model_hash:
            rep.problems.append("the model hash is not keccak(job, round, N, L, m, digests)")
    except (InputError, RevealError, KeyError) as err:
        rep.problems.append(f"the v2 acceptance does not check out: {err}")


def _check_empty_commitment(report: AuditReport, empty: int, m: int, layout: ChunkLayout | None,
                            ledger: LedgerContract, job_id: bytes, store: ContentStore | None) -> None:
    if layout is None and store is not None:
        for r in report.rounds:
            model = store.get_model(r.model_hash) if r.model_hash is not None and r.model_stored else None
            if model is not None:
                layout = ChunkLayout(len(model.aggregate), model.chunk_len)
                break
    if layout is None:
        if report.rounds and any(r.status == "accepted" for r in report.rounds):
            report.problems.append("the empty commitment could not be checked: no layout and no stored model")
        return
    if layout.n_chunks != m:
        report.problems.append(f"the job's layout has {layout.n_chunks} chunks, the contract {m}")
    elif layout.commit(FrArray.zeros(layout.n_elements)) != empty:
        report.problems.append("the job's empty commitment is not the commitment of the zero vector "
                               "of its layout (EmptyCommitmentMismatch)")


def _verifying_key(ledger: LedgerContract, address: str, n: int, report: AuditReport) -> VerifyingKey | None:
    try:
        words = ledger.chain.call(verifier_contract(ledger.chain, address).functions.verifyingKey())
        vk = key_from_words(list(words))
    except (InputError, ValueError) as err:
        report.problems.append(f"the job's verifier holds no valid verifying key: {err}")
        return None
    if vk.n_public != 2 * n + 2:
        report.problems.append(f"the verifying key has {vk.n_public} public inputs, not {2 * n + 2}")
        return None
    return vk


def _round(ledger: LedgerContract, job_id: bytes, rnd: int, n: int, m: int, empty: int,
           vk: VerifyingKey | None, events: dict[str, dict[int, list[Any]]],
           store: ContentStore | None, *, is_last: bool,
           v2: tuple[VerifyingKey, G2Point, int] | None = None) -> RoundReport:
    def ev(name: str) -> list[Any]:
        return events[name].get(rnd, [])

    rep = RoundReport(rnd, "masking")
    sets = {int(e["args"]["attempt"]): int(e["args"]["members"]) for e in ev("MaskSetPosted")}
    finals = [e["args"] for e in ev("MaskingClosed") if e["args"]["isFinal"]]
    if not finals:
        rep.status = "masking" if is_last else "abandoned"
        return rep
    attempt = int(finals[0]["attempt"])
    members = sets.get(attempt, 0)
    masks = {int(e["args"]["slot"]): int(e["args"]["digest"])
             for e in ev("MaskCommitted") if int(e["args"]["attempt"]) == attempt}
    if set(masks) != set(slots_of(members)):
        rep.problems.append("the final mask set's commitments do not match its members")
    posted = {int(e["args"]["slot"]): (int(e["args"]["digest"]), int(e["args"]["weight"]))
              for e in ev("Submitted")}
    closed = ev("SubmissionsClosed")
    if not closed:
        rep.status = "submitting" if is_last else "abandoned"
        return rep
    args = closed[0]["args"]
    rep.survivors, rep.dropped = slots_of(int(args["survivors"])), slots_of(int(args["dropped"]))
    rep.total_weight = int(args["totalWeight"])
    if set(rep.survivors) != set(posted) or set(rep.survivors) | set(rep.dropped) != set(slots_of(members)):
        rep.problems.append("U and D do not match the final mask set and the submissions")
    if rep.total_weight != sum(w for _, w in posted.values()):
        rep.problems.append("N differs from the sum of the survivors' weights")
    accepted = ev("RoundAccepted")
    if not accepted:
        rep.status = "closed"
        return rep
    rep.status = "accepted"
    acc = accepted[0]
    outputs = [int(o) for o in acc["args"]["outputs"]]
    rep.model_hash = bytes(acc["args"]["modelHash"])
    if v2 is not None:
        _check_v2(ledger, job_id, rnd, rep, acc, v2, posted, masks, m)
        return rep
    if hashlib.sha256(b"".join(o.to_bytes(32, "big") for o in outputs)).digest() != rep.model_hash:
        rep.problems.append("the model hash is not sha256 of the chunk outputs")
    if len(outputs) != m:
        rep.problems.append(f"{len(outputs)} chunk outputs, the job has {m} chunks")
    commitments = [empty] * n
    weights = [0] * n
    for k in rep.survivors:
        commitments[k], weights[k] = posted[k]
    for k in rep.dropped:
        commitments[k] = masks.get(k, empty)
    proofs = _acceptance_proofs(ledger, acc, rep)
    if vk is not None and proofs is not None:
        for j, (words, out) in enumerate(zip(proofs, outputs)):
            inputs = [context(job_id, rnd, j), *commitments, *weights, out]
            try:
                good = verify(vk, inputs, proof_from_calldata(words))
            except InputError as err:
                rep.problems.append(f"chunk {j}: malformed proof or input ({err})")
                continue
            if good:
                rep.proofs_verified += 1
            else:
                rep.problems.append(f"chunk {j}: the proof does not verify")
    if store is not None:
        try:
            model = store.get_model(rep.model_hash)
        except StoreError as err:
            rep.model_stored = False
            rep.problems.append(f"stored model: {err}")
        else:
            rep.model_stored = model is not None
            if model is None:
                rep.problems.append("the published model is missing from the store")
            elif model.total_weight != rep.total_weight:
                rep.model_stored = False
                rep.problems.append("the stored model's N differs from the round's")
    return rep


def _acceptance_proofs(ledger: LedgerContract, event: Any, rep: RoundReport) -> list[list[int]] | None:
    """The chunk proofs, from the calldata of the transaction that emitted the acceptance."""
    tx = ledger.chain.w3.eth.get_transaction(event["transactionHash"])
    if tx.get("to") != ledger.address:
        rep.problems.append("the acceptance was not a direct call to the ledger: its proofs cannot be read")
        return None
    try:
        fn, args = ledger.contract.decode_function_input(tx["input"])
    except ValueError as err:
        rep.problems.append(f"cannot decode the acceptance transaction: {err}")
        return None
    if fn.fn_name != "acceptRound":
        rep.problems.append(f"the acceptance came from {fn.fn_name}, not acceptRound")
        return None
    words = [int(w) for w in args["proofs"]]
    return [words[8 * j : 8 * j + 8] for j in range(len(words) // 8)]

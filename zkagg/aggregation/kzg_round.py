"""The v2 round proof (aggregation v2, candidate B): KZG commitments summed in the group, chunk
proofs of (z, e_j, h_j), one KZG opening, one batched pairing check. Reference side of the
contract `contracts/RoundCheckV2.sol`: both compute the same z, v, coefficients and pairs.

The round's aggregate S (K packed elements) is zero-padded to m chunks of L elements; the
blinding power is B = m L, so F(X) = S(X) + rho X^B is the polynomial the clients' summed
commitments C_S = sum_U C_u + sum_D E_u commit to. With h_j = sponge(S_j) and
    z = keccak256(DOMAIN || chainid || ledger || job || round || L || m || B || N || C_S || rho
                  || h_0 .. h_{m-1}) mod r
(each item one 32-byte big-endian word; C_S as x, y), the aggregator proves every chunk
(e_j = S_j(z), h_j) with the chunk circuit and opens F at z:
    v = sum_j z^(jL) e_j + rho z^B,   pi = [(F(tau) - v) / (tau - z)]_1.
Acceptance checks, with FS coefficients r_0 = 1, r_j, t (128-bit, from keccak over z and all
proofs), R = sum r_j:
    prod_j e(-r_j A_j, B_j) e(R alpha, beta) e(vk_x, gamma) e(sum r_j C_j, delta)
      e(t (C_S - v G1 + z pi), G2) e(-t pi, [tau]_2) = 1,
    vk_x = R IC_0 + R z IC_1 + (sum r_j e_j) IC_2 + (sum r_j h_j) IC_3;
m + 5 pairs, or m + 4 when gamma = [1]_2 (the two G2-generator pairs merge). The model hash is
keccak256(job || round || N || L || m || h_0 .. h_{m-1}).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import cached_property
from typing import cast

import numpy as np
from eth_utils import keccak

from .. import kzg
from ..bn254 import FR_MODULUS, FrArray, G1Point, G2Point, native_module
from ..bn254.limbs import Limbs, ints_to_limbs, limbs_to_ints
from ..bn254.pairing import pairing_product_is_one
from ..circuit import R1CS, evaluate
from ..circuit.blocks import BlockR1CS, compile_blocks
from ..circuits.chunk_v2 import BLOCK, chunk_circuit
from ..circuits.gadgets.poseidon import _start as sponge_start
from ..errors import InputError, LengthError, NonCanonicalError, ZkaggError, check_int
from ..groth16 import Proof, ProvingKey, VerifyingKey, insecure_single_party_setup, prove
from ..poseidon import DEFAULT_WIDTH, poseidon_sponge_many
from ..poseidon import _engine as poseidon_engine
from ..poseidon.params import constants as poseidon_constants
from ..poseidon.reference import trace_length

R = FR_MODULUS
#: the transcript's domain separator, as one right-padded 32-byte word
DOMAIN = b"zkagg/B/v1".ljust(32, b"\0")


class RoundCheckError(ZkaggError):
    """A v2 round proof could not be made or does not verify (the message says which part)."""


def _word(x: int) -> bytes:
    return x.to_bytes(32, "big")


@dataclass(frozen=True)
class RoundContext:
    """What binds a round's proof to one place: chain, ledger contract, job and round."""

    chain_id: int
    ledger: bytes  # 20-byte address of the contract that accepts the round
    job: bytes  # 32-byte job id
    round: int

    def __post_init__(self) -> None:
        check_int("chain_id", self.chain_id, 0, (1 << 256) - 1)
        check_int("round", self.round, 0, (1 << 256) - 1)
        if not isinstance(self.ledger, bytes) or len(self.ledger) != 20:
            raise LengthError("ledger must be a 20-byte address")
        if not isinstance(self.job, bytes) or len(self.job) != 32:
            raise LengthError("job must be 32 bytes")


@dataclass(frozen=True)
class RoundShape:
    """K packed elements in m chunks of L; the blinding power B = m L lies above every chunk."""

    n_elements: int  # K
    chunk_len: int  # L

    def __post_init__(self) -> None:
        check_int("n_elements", self.n_elements, 1)
        check_int("chunk_len", self.chunk_len, 1)

    @property
    def n_chunks(self) -> int:
        return -(-self.n_elements // self.chunk_len)

    @property
    def blind_index(self) -> int:
        return self.n_chunks * self.chunk_len

    def padded(self, aggregate: FrArray) -> FrArray:
        """S with zeros up to m L elements (the chunks the circuit sees)."""
        if not isinstance(aggregate, FrArray) or len(aggregate) != self.n_elements:
            raise LengthError(f"the aggregate must be an FrArray of {self.n_elements} elements")
        pad = self.blind_index - self.n_elements
        return FrArray.concat([aggregate, FrArray.zeros(pad)]) if pad else aggregate

    def chunks(self, aggregate: FrArray) -> list[FrArray]:
        s, n = self.padded(aggregate), self.chunk_len
        return [s[j * n : (j + 1) * n] for j in range(self.n_chunks)]


def chunk_digests(shape: RoundShape, aggregate: FrArray) -> list[int]:
    """h_j = sponge(S_j) of every zero-padded chunk (native, in parallel)."""
    return poseidon_sponge_many(shape.chunks(aggregate))


def _canonical(name: str, x: int) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        raise InputError(f"{name} must be an int")
    if not 0 <= x < R:
        raise NonCanonicalError(f"{name} = {x} is not below r")
    return x


def challenge(ctx: RoundContext, shape: RoundShape, total_weight: int, c_s: G1Point, rho: int,
              digests: Sequence[int]) -> int:
    """z: keccak256 over everything the round fixed before it (see the module doc), mod r."""
    if len(digests) != shape.n_chunks:
        raise LengthError(f"expected {shape.n_chunks} digests, not {len(digests)}")
    words = [ctx.chain_id, int.from_bytes(ctx.ledger, "big"), int.from_bytes(ctx.job, "big"), ctx.round,
             shape.chunk_len, shape.n_chunks, shape.blind_index, check_int("total_weight", total_weight, 0, R - 1),
             c_s.x, c_s.y, _canonical("rho", rho), *(_canonical(f"digests[{j}]", h) for j, h in enumerate(digests))]
    return int.from_bytes(keccak(DOMAIN + b"".join(_word(w) for w in words)), "big") % R


#: domain separators of the hash commitments to revealed points (commit-then-reveal, F3)
POINT_TAGS = {"C": b"zkagg/C/v1".ljust(32, b"\0"), "E": b"zkagg/E/v1".ljust(32, b"\0")}


def point_hash(kind: str, ctx: RoundContext, slot: int, point: G1Point) -> bytes:
    """What a client posts before the deadline instead of its point: keccak256(tag || chainid ||
    ledger || job || round || slot || x || y), tag "zkagg/C/v1" for C_u (submission) or
    "zkagg/E/v1" for E_u (mask phase). The point is revealed only after the chain closed
    submissions, so no point can be chosen as a function of another (rogue cancellation)."""
    if kind not in POINT_TAGS:
        raise InputError(f"kind must be 'C' or 'E', not {kind!r}")
    check_int("slot", slot, 0, (1 << 256) - 1)
    if not isinstance(point, G1Point):
        raise InputError("point must be a G1Point")
    words = [ctx.chain_id, int.from_bytes(ctx.ledger, "big"), int.from_bytes(ctx.job, "big"), ctx.round, slot,
             point.x, point.y]
    return keccak(POINT_TAGS[kind] + b"".join(_word(w) for w in words))


def combined_value(shape: RoundShape, evaluations: Sequence[int], rho: int, z: int) -> int:
    """v = sum_j z^(jL) e_j + rho z^B: F(z) assembled from the chunks' evaluations."""
    if len(evaluations) != shape.n_chunks:
        raise LengthError(f"expected {shape.n_chunks} evaluations, not {len(evaluations)}")
    w = pow(z, shape.chunk_len, R)
    v = 0
    for e in reversed(evaluations):
        v = (v * w + _canonical("evaluation", e)) % R
    return (v + _canonical("rho", rho) * pow(w, shape.n_chunks, R)) % R


def model_hash(ctx: RoundContext, shape: RoundShape, total_weight: int, digests: Sequence[int]) -> bytes:
    """keccak256(job || round || N || L || m || h_0 .. h_{m-1}): what the ledger stores."""
    words = [ctx.round, total_weight, shape.chunk_len, shape.n_chunks, *digests]
    return keccak(ctx.job + b"".join(_word(w) for w in words))


def aggregate_commitment(srs: kzg.Srs, shape: RoundShape, aggregate: FrArray, rho: int) -> G1Point:
    """MSM(S) + rho [tau^B]_1: what C_S must equal (the auditor's independent check)."""
    return kzg.commit(srs, shape.padded(aggregate)) + srs.g1_powers[shape.blind_index] * _canonical("rho", rho)


@dataclass(frozen=True)
class ChunkEvalProof:
    """Chunk j's proof of (z, e_j, h_j)."""

    evaluation: int  # e_j
    digest: int  # h_j
    proof: Proof
    witness_s: float = field(default=0.0, compare=False)
    prove_s: float = field(default=0.0, compare=False)


@dataclass(frozen=True)
class KzgRoundProof:
    """Everything the acceptance transaction carries besides the revealed points."""

    total_weight: int  # N (the contract recomputes it from its records)
    rho: int
    opening: G1Point  # pi
    chunks: tuple[ChunkEvalProof, ...]

    @property
    def evaluations(self) -> list[int]:
        return [c.evaluation for c in self.chunks]

    @property
    def digests(self) -> list[int]:
        return [c.digest for c in self.chunks]


def chunk_witness(chunk_len: int, z: int, chunk: FrArray) -> FrArray:
    """The full witness of the chunk circuit for (z, chunk), as `evaluate(chunk_circuit(...))`
    gives it but without the evaluator: [1, z, e, h, s], the sponge's absorb traces block by
    block (native Poseidon trace), then the Horner blocks' products from the top block down
    (native). The reference engine runs the evaluator itself. Not checked here: `prove` checks
    every constraint before it proves."""
    if len(chunk) != chunk_len:
        raise LengthError(f"a chunk has {chunk_len} elements, not {len(chunk)}")
    z = _canonical("z", z)
    mod = native_module()
    e = kzg.evaluate(chunk, z)
    if mod is None:
        (h,) = poseidon_sponge_many([chunk])
        return FrArray.from_ints(evaluate(chunk_circuit(chunk_len, z, e, h, chunk.to_ints())))
    t, rate = DEFAULT_WIDTH, DEFAULT_WIDTH - 1
    n_blocks = max(-(-chunk_len // rate), 1)
    padded = np.zeros((n_blocks * rate, 4), dtype=np.uint64)
    padded[:chunk_len] = chunk.limbs
    prev = np.asarray(ints_to_limbs(sponge_start(t, chunk_len), R, "start"))
    n_out = trace_length(t)
    engine = poseidon_engine()  # canonical inputs by construction: straight to the native trace
    if engine is None:  # the same backend selects both engines; kept for the type checker
        raise RoundCheckError("the native Poseidon engine is not available")
    traces = []
    step = np.empty((2 * t - 1, 4), dtype=np.uint64)
    for k in range(n_blocks):
        step[:t] = prev
        step[t:] = padded[k * rate : (k + 1) * rate]
        trace = engine.absorb_trace(step, t, n_out)
        traces.append(trace)
        prev = trace[2::3][-t:]  # the last full round's S-box outputs x^5
    # the digest is the first row of the final linear layer over the last S-box outputs
    h = sum(c * x for c, x in zip(poseidon_constants(t).mds[0], limbs_to_ints(prev))) % R
    ffi = mod.ffi
    horner: Limbs = np.empty((-(-chunk_len // BLOCK) * BLOCK, 4), dtype=np.uint64)
    rc = mod.lib.zkagg_fr_horner_trace(ffi.from_buffer("uint64_t[]", horner), ffi.from_buffer("uint64_t[]", chunk.limbs),
                                       chunk_len, BLOCK, ffi.from_buffer("uint64_t[]", ints_to_limbs([z], R, "z")))
    if rc != 0:
        raise RoundCheckError(f"the Horner trace failed in the native core (code {rc})")
    head = ints_to_limbs([1, z, e, h], R, "head")
    return FrArray._trusted(np.concatenate([head, chunk.limbs, *traces, horner]))


@dataclass(frozen=True)
class ChunkProver:
    """The chunk circuit of one length with its Groth16 key (one setup per chunk length)."""

    chunk_len: int
    pk: ProvingKey

    @cached_property
    def r1cs(self) -> BlockR1CS:
        """The chunk circuit's constraints as template blocks: about 0.15 KB per constraint
        instead of 1.3 KB for the concatenated matrices (zkagg.circuit.blocks)."""
        return compile_blocks(chunk_circuit(self.chunk_len))

    @classmethod
    def insecure_single_party_setup(cls, chunk_len: int, rng: random.Random | None = None) -> ChunkProver:
        """A fresh key for the chunk circuit (a ceremony would follow with `contribute`).
        Setup needs the whole matrices; they are dropped afterwards."""
        return cls(chunk_len, insecure_single_party_setup(compile_blocks(chunk_circuit(chunk_len)).materialize(), rng))

    def prove(self, z: int, chunk: FrArray, rng: random.Random | None = None) -> ChunkEvalProof:
        """The proof of (z, e, h) for one chunk; `prove` verifies it before returning."""
        if len(chunk) != self.chunk_len:
            raise LengthError(f"a chunk has {self.chunk_len} elements, not {len(chunk)}")
        t0 = time.perf_counter()
        witness = chunk_witness(self.chunk_len, z, chunk)
        e, h = witness[2], witness[3]
        t1 = time.perf_counter()
        # prove reads only what BlockR1CS has (n_wires, n_public, rows, first_failing_row, label)
        proof = prove(self.pk, cast(R1CS, self.r1cs), witness, rng)
        return ChunkEvalProof(e, h, proof, t1 - t0, time.perf_counter() - t1)


def _prove_one(prover: ChunkProver, z: int, chunk: FrArray) -> ChunkEvalProof:
    return prover.prove(z, chunk)


def prove_round(prover: ChunkProver, srs: kzg.Srs, ctx: RoundContext, shape: RoundShape, *,
                aggregate: FrArray, rho: int, total_weight: int, c_s: G1Point,
                executor: Executor | None = None) -> KzgRoundProof:
    """The round's proof: digests, z, a chunk proof per chunk (in `executor` when given), the
    opening of S + rho X^B at z. It checks C_S = MSM(S) + rho G_B first (RoundCheckError: the
    revealed points do not commit to this aggregate) and the batched check last."""
    if prover.chunk_len != shape.chunk_len:
        raise InputError(f"the prover's chunk length {prover.chunk_len} is not the round's {shape.chunk_len}")
    if shape.blind_index > srs.max_degree:
        raise LengthError(f"the SRS has powers up to {srs.max_degree}, the round needs {shape.blind_index}")
    if aggregate_commitment(srs, shape, aggregate, rho) != c_s:
        raise RoundCheckError("C_S is not MSM(S) + rho G_B: the revealed points do not commit to this aggregate")
    digests = chunk_digests(shape, aggregate)
    z = challenge(ctx, shape, total_weight, c_s, rho, digests)
    chunks = shape.chunks(aggregate)
    run: Callable[..., Iterable[ChunkEvalProof]] = executor.map if executor else map  # type: ignore[assignment]
    proofs = tuple(run(_prove_one, [prover] * len(chunks), [z] * len(chunks), chunks))
    opening = kzg.open(srs, shape.padded(aggregate), z, rho, shape.blind_index)
    out = KzgRoundProof(total_weight, rho, opening.proof, proofs)
    if not verify_round(prover.pk.vk, srs.tau_g2, ctx, shape, c_s, out):
        raise RoundCheckError("the new round proof does not pass the batched check")
    return out


def batch_coefficients(z: int, c_s: G1Point, proof: KzgRoundProof) -> tuple[list[int], int]:
    """(r_0 .. r_{m-1}, t): r_0 = 1, the rest 128-bit from keccak over z, C_S, rho, pi and every
    chunk's (A, B, C, e_j), fixed after all of it (odd, so never zero)."""
    parts = [_word(z), c_s.to_bytes(), _word(proof.rho), proof.opening.to_bytes()]
    for c in proof.chunks:
        parts += [c.proof.to_bytes(), _word(c.evaluation)]
    seed = keccak(b"".join(parts))
    m = len(proof.chunks)

    def coeff(i: int) -> int:
        return (int.from_bytes(keccak(seed + _word(i)), "big") >> 128) | 1

    return [1] + [coeff(j) for j in range(1, m)], coeff(m)


def batch_pairs(vk: VerifyingKey, tau_g2: G2Point, ctx: RoundContext, shape: RoundShape, c_s: G1Point,
                proof: KzgRoundProof) -> list[tuple[G1Point, G2Point]]:
    """The pairs whose product is 1 for an acceptable round (see the module doc); m + 4 of them
    when gamma is the G2 generator, m + 5 otherwise. Malformed input raises."""
    if vk.n_public != 3:
        raise InputError(f"the chunk key has {vk.n_public} public inputs, not 3 (z, e, h)")
    if len(proof.chunks) != shape.n_chunks:
        raise LengthError(f"expected {shape.n_chunks} chunk proofs, not {len(proof.chunks)}")
    z = challenge(ctx, shape, proof.total_weight, c_s, proof.rho, proof.digests)
    v = combined_value(shape, proof.evaluations, proof.rho, z)
    rs, t = batch_coefficients(z, c_s, proof)
    r_sum = sum(rs) % R
    e_sum = sum(r * c.evaluation for r, c in zip(rs, proof.chunks)) % R
    h_sum = sum(r * c.digest for r, c in zip(rs, proof.chunks)) % R
    ic = vk.ic
    vk_x = ic[0] * r_sum + ic[1] * (r_sum * z % R) + ic[2] * e_sum + ic[3] * h_sum
    c_acc = G1Point.infinity()
    pairs: list[tuple[G1Point, G2Point]] = []
    for r, c in zip(rs, proof.chunks):
        pairs.append((-(c.proof.a * r), c.proof.b))
        c_acc = c_acc + c.proof.c * r
    pi = proof.opening
    kzg_lhs = (c_s + G1Point.generator() * (R - v) + pi * z) * t
    pairs.append((vk.alpha_g1 * r_sum, vk.beta_g2))
    g2 = G2Point.generator()
    if vk.gamma_g2 == g2:
        pairs.append((vk_x + kzg_lhs, g2))
    else:
        pairs += [(vk_x, vk.gamma_g2), (kzg_lhs, g2)]
    pairs += [(c_acc, vk.delta_g2), (-(pi * t), tau_g2)]
    return pairs


def verify_round(vk: VerifyingKey, tau_g2: G2Point, ctx: RoundContext, shape: RoundShape, c_s: G1Point,
                 proof: KzgRoundProof) -> bool:
    """True iff the round's batched check passes (the contract's acceptance, minus the hash
    checks of the revealed points and the computation of N, which are the ledger's)."""
    return pairing_product_is_one(batch_pairs(vk, tau_g2, ctx, shape, c_s, proof))


@dataclass(frozen=True)
class RoundAudit:
    """The auditor's verdict on one published v2 round: `failures` names every check that
    failed (empty when `ok`)."""

    failures: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.failures


def audit_round(vk: VerifyingKey, srs: kzg.Srs, ctx: RoundContext, shape: RoundShape,
                points: Sequence[G1Point], aggregate: FrArray, proof: KzgRoundProof,
                stored_model_hash: bytes) -> RoundAudit:
    """Replay one accepted round from public data: the revealed points (as the ledger selected
    them), the published aggregate S and the round's proof. Independent of the prover: the
    digests and evaluations are recomputed from S, C_S is checked as MSM(S) + rho G_B (the
    binding check that needs no SNARK), then the batched check and the stored model hash."""
    failures: list[str] = []
    c_s = G1Point.infinity()
    for p in points:
        c_s = c_s + p
    if len(aggregate) != shape.n_elements:
        return RoundAudit((f"the aggregate has {len(aggregate)} elements, not {shape.n_elements}",))
    if len(proof.chunks) != shape.n_chunks:
        return RoundAudit((f"{len(proof.chunks)} chunk proofs for {shape.n_chunks} chunks",))
    if aggregate_commitment(srs, shape, aggregate, proof.rho) != c_s:
        failures.append("C_S != MSM(S) + rho G_B")
    digests = chunk_digests(shape, aggregate)
    if digests != proof.digests:
        failures.append("chunk digests differ from sponge(S_j)")
    z = challenge(ctx, shape, proof.total_weight, c_s, proof.rho, proof.digests)
    if kzg.evaluate_chunks(shape.padded(aggregate), shape.chunk_len, z) != proof.evaluations:
        failures.append("evaluations differ from S_j(z)")
    if not verify_round(vk, srs.tau_g2, ctx, shape, c_s, proof):
        failures.append("the batched pairing check fails")
    if model_hash(ctx, shape, proof.total_weight, digests) != stored_model_hash:
        failures.append("the stored model hash differs")
    return RoundAudit(tuple(failures))

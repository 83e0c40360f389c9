"""The v2 round proof, reference side (zkagg.aggregation.kzg_round): an honest round passes
the batched check; each tampering of design-notes/aggregation-v2.md §10.5 fails, with negative
controls showing the check that catches it is the one that matters."""

from __future__ import annotations

import dataclasses
import random
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from py_ecc import optimized_bn128 as ob
from zkagg.circuits.chunk_v2 import chunk_circuit

from zkagg import kzg
from zkagg.aggregation import kzg_round as kr
from zkagg.bn254 import FrArray, G1Point, G2Point, use_backend
from zkagg.bn254.pairing import pairing_product_is_one
from zkagg.circuit import compile_r1cs, evaluate
from zkagg.errors import InputError, LengthError, NonCanonicalError, ZkaggError
from zkagg.groth16.setup import ToxicWaste, keys_from_toxic_waste

from .conftest import BACKENDS

R = kr.R
L, K = 16, 40  # three chunks, the last one padded


class Round:
    """Two survivors and one dropped client (its blinded mask commitment and blinder)."""

    def __init__(self, seed: int, prover: kr.ChunkProver, srs: kzg.Srs) -> None:
        rng = random.Random(seed)
        self.rng, self.prover, self.srs = rng, prover, srs
        self.shape = kr.RoundShape(K, L)
        self.ctx = kr.RoundContext(31337, rng.randbytes(20), rng.randbytes(32), rng.randrange(1, 100))
        ys = [FrArray.random(K, rng) for _ in range(2)]
        t = FrArray.random(K, rng)
        self.rho = rng.randrange(1, R)
        self.points = [kzg.commit(srs, y) for y in ys]
        self.points.append(kzg.commit_secret(srs, t, self.rho, self.shape.blind_index, rng=rng))
        self.aggregate = ys[0] + ys[1] + t
        self.c_s = self.points[0] + self.points[1] + self.points[2]
        self.n = 300
        self.proof = kr.prove_round(prover, srs, self.ctx, self.shape, aggregate=self.aggregate, rho=self.rho,
                                    total_weight=self.n, c_s=self.c_s)

    def ok(self, proof: kr.KzgRoundProof | None = None, ctx: kr.RoundContext | None = None,
           c_s: G1Point | None = None) -> bool:
        return kr.verify_round(self.prover.pk.vk, self.srs.tau_g2, ctx or self.ctx, self.shape,
                               c_s or self.c_s, proof or self.proof)


@pytest.fixture(scope="module")
def prover() -> kr.ChunkProver:
    return kr.ChunkProver.insecure_single_party_setup(L, random.Random(11))


@pytest.fixture(scope="module")
def srs() -> kzg.Srs:
    return kzg.Srs.insecure_from_tau(kzg.random_tau(random.Random(12)), 64)


@pytest.fixture(scope="module")
def rnd(prover: kr.ChunkProver, srs: kzg.Srs) -> Round:
    return Round(1, prover, srs)


def _chunk(round_proof: kr.KzgRoundProof, j: int, **changes: object) -> kr.KzgRoundProof:
    chunks = list(round_proof.chunks)
    chunks[j] = dataclasses.replace(chunks[j], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(round_proof, chunks=tuple(chunks))


def test_honest_round_passes(rnd: Round) -> None:
    assert rnd.ok()
    assert len(rnd.proof.chunks) == 3 and rnd.shape.blind_index == 48
    assert kr.aggregate_commitment(rnd.srs, rnd.shape, rnd.aggregate, rnd.rho) == rnd.c_s


@pytest.mark.parametrize("j", [0, 2])
def test_tampered_evaluation_fails(rnd: Round, j: int) -> None:
    assert not rnd.ok(_chunk(rnd.proof, j, evaluation=(rnd.proof.chunks[j].evaluation + 1) % R))


def test_tampered_digest_fails(rnd: Round) -> None:
    assert not rnd.ok(_chunk(rnd.proof, 1, digest=(rnd.proof.chunks[1].digest + 1) % R))


def test_tampered_rho_and_n_fail(rnd: Round) -> None:
    assert not rnd.ok(dataclasses.replace(rnd.proof, rho=(rnd.rho + 1) % R))
    assert not rnd.ok(dataclasses.replace(rnd.proof, total_weight=rnd.n + 1))


def test_tampered_opening_and_chunk_proof_fail(rnd: Round) -> None:
    assert not rnd.ok(dataclasses.replace(rnd.proof, opening=rnd.proof.opening + G1Point.generator()))
    p = rnd.proof.chunks[1].proof
    assert not rnd.ok(_chunk(rnd.proof, 1, proof=dataclasses.replace(p, c=p.c + G1Point.generator())))


def test_chunk_order_missing_and_duplicated_chunks_fail(rnd: Round) -> None:
    c = rnd.proof.chunks
    assert not rnd.ok(dataclasses.replace(rnd.proof, chunks=(c[1], c[0], c[2])))
    assert not rnd.ok(dataclasses.replace(rnd.proof, chunks=(c[0], c[0], c[2])))
    with pytest.raises(LengthError):
        rnd.ok(dataclasses.replace(rnd.proof, chunks=c[:2]))
    with pytest.raises(LengthError):
        rnd.ok(dataclasses.replace(rnd.proof, chunks=(*c, c[2])))


def test_replays_across_round_job_ledger_and_chain_fail(rnd: Round) -> None:
    ctx = rnd.ctx
    for other in (dataclasses.replace(ctx, round=ctx.round + 1), dataclasses.replace(ctx, job=bytes(32)),
                  dataclasses.replace(ctx, ledger=bytes(20)), dataclasses.replace(ctx, chain_id=1)):
        assert not rnd.ok(ctx=other)


def test_other_commitment_fails(rnd: Round) -> None:
    """C_S without the dropped client's E_u (or with C_u of a dropped client instead)."""
    assert not rnd.ok(c_s=rnd.points[0] + rnd.points[1])


def _forged(rnd: Round, aggregate: FrArray, z: int | None = None) -> kr.KzgRoundProof:
    """Honest chunk proofs of `aggregate` and the honest opening of the committed F."""
    digests = kr.chunk_digests(rnd.shape, aggregate)
    if z is None:
        z = kr.challenge(rnd.ctx, rnd.shape, rnd.n, rnd.c_s, rnd.rho, digests)
    chunks = tuple(rnd.prover.prove(z, ch) for ch in rnd.shape.chunks(aggregate))
    opening = kzg.open(rnd.srs, rnd.shape.padded(rnd.aggregate), z, rnd.rho, rnd.shape.blind_index)
    return kr.KzgRoundProof(rnd.n, rnd.rho, opening.proof, chunks)


def _without_kzg(rnd: Round, proof: kr.KzgRoundProof) -> bool:
    """Deliberately weak check: the chunk proofs' pairs only (a random gamma keeps them apart
    from the KZG pairs: chunks, (R alpha, beta), (vk_x, gamma), KZG, (sum C, delta), KZG)."""
    pairs = kr.batch_pairs(rnd.prover.pk.vk, rnd.srs.tau_g2, rnd.ctx, rnd.shape, rnd.c_s, proof)
    m = len(proof.chunks)
    return pairing_product_is_one(pairs[: m + 2] + [pairs[m + 3]])


def test_altered_aggregate_fails_and_only_the_opening_catches_it(rnd: Round) -> None:
    values = rnd.aggregate.to_ints()
    values[17] = (values[17] + 1) % R
    forged = _forged(rnd, FrArray.from_ints(values))
    assert _without_kzg(rnd, forged)  # negative control: every chunk proof is valid
    assert not rnd.ok(forged)
    assert rnd.ok(_forged(rnd, rnd.aggregate))  # the same path with the true S passes


def test_z_of_the_provers_choosing_fails(rnd: Round) -> None:
    """With z of its choosing a prover moves value between elements so that S'(z) = S(z)."""
    z = 12345
    values = rnd.aggregate.to_ints()
    delta = 777
    values[0] = (values[0] + delta * z) % R
    values[1] = (values[1] - delta) % R  # S'(z) - S(z) = delta z - delta z = 0
    forged = _forged(rnd, FrArray.from_ints(values), z=z)
    with mock.patch.object(kr, "challenge", lambda *a: z):
        assert rnd.ok(forged)  # negative control: a verifier that let the prover pick z accepts
    assert not rnd.ok(forged)


def test_inputs_not_below_r_are_refused(rnd: Round) -> None:
    e = rnd.proof.chunks[0].evaluation
    with pytest.raises(NonCanonicalError):
        rnd.ok(_chunk(rnd.proof, 0, evaluation=e + R))
    with pytest.raises(NonCanonicalError):
        rnd.ok(dataclasses.replace(rnd.proof, rho=rnd.rho + R))


def test_prover_refuses_points_that_do_not_commit_to_the_aggregate(rnd: Round) -> None:
    with pytest.raises(kr.RoundCheckError):
        kr.prove_round(rnd.prover, rnd.srs, rnd.ctx, rnd.shape, aggregate=rnd.aggregate, rho=rnd.rho,
                       total_weight=rnd.n, c_s=rnd.points[0])


def test_rogue_non_tau_component_is_unprovable(rnd: Round) -> None:
    """A rogue point with a component outside span{[tau^i]} (here alpha of the chunk key):
    the honest prover refuses, and the honest path cannot pass (liveness only)."""
    rogue = rnd.c_s + rnd.prover.pk.vk.alpha_g1
    with pytest.raises(kr.RoundCheckError):
        kr.prove_round(rnd.prover, rnd.srs, rnd.ctx, rnd.shape, aggregate=rnd.aggregate, rho=rnd.rho,
                       total_weight=rnd.n, c_s=rogue)
    assert not rnd.ok(c_s=rogue)


def _py_ecc_product_is_one(pairs: list[tuple[G1Point, G2Point]]) -> bool:
    acc = ob.FQ12.one()
    for p, q in pairs:
        if p.is_infinity or q.is_infinity:
            continue
        p_ = (ob.FQ(p.x), ob.FQ(p.y), ob.FQ(1))
        q_ = (ob.FQ2([q.x[0], q.x[1]]), ob.FQ2([q.y[0], q.y[1]]), ob.FQ2.one())
        acc = acc * ob.pairing(q_, p_, final_exponentiate=False)  # type: ignore[arg-type]
    return bool(ob.final_exponentiate(acc) == ob.FQ12.one())


def test_pairing_product_agrees_with_py_ecc(rnd: Round) -> None:
    pairs = kr.batch_pairs(rnd.prover.pk.vk, rnd.srs.tau_g2, rnd.ctx, rnd.shape, rnd.c_s, rnd.proof)
    assert _py_ecc_product_is_one(pairs)
    bad = dataclasses.replace(rnd.proof, rho=(rnd.rho + 1) % R)
    pairs = kr.batch_pairs(rnd.prover.pk.vk, rnd.srs.tau_g2, rnd.ctx, rnd.shape, rnd.c_s, bad)
    assert not _py_ecc_product_is_one(pairs)


def unit_gamma_prover(chunk_len: int, rng: random.Random) -> kr.ChunkProver:
    """A chunk key with gamma = [1]_2 (the snarkjs/ptau phase-2 convention). Today's setup
    refuses gamma = G2 (it was a degenerate-key guard for zkagg's own setup), so the tests
    build it from known secrets with that guard lifted: test-only, insecure."""
    r1cs = compile_r1cs(chunk_circuit(chunk_len))
    toxic = ToxicWaste(*(rng.randrange(2, R) for _ in range(2)), rng.randrange(2, R), 1, rng.randrange(2, R))
    with mock.patch("zkagg.groth16.setup.check_nondegenerate"):
        return kr.ChunkProver(chunk_len, keys_from_toxic_waste(r1cs, toxic))


def test_unit_gamma_merges_a_pair(srs: kzg.Srs) -> None:
    prover = unit_gamma_prover(L, random.Random(5))
    assert prover.pk.vk.gamma_g2 == G2Point.generator()
    rnd = Round(2, prover, srs)
    pairs = kr.batch_pairs(prover.pk.vk, srs.tau_g2, rnd.ctx, rnd.shape, rnd.c_s, rnd.proof)
    assert len(pairs) == rnd.shape.n_chunks + 4
    assert rnd.ok()
    assert not rnd.ok(dataclasses.replace(rnd.proof, rho=(rnd.rho + 1) % R))


@given(which=st.integers(0, 10), value=st.integers(0, 2**256 - 1))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_replaced_scalar_is_refused_or_rejected(rnd: Round, which: int, value: int) -> None:
    """A scalar of the proof replaced by any 256-bit value: a named error (>= r) or False."""
    p = rnd.proof
    j = which % 3
    candidates = {
        0: lambda: dataclasses.replace(p, rho=value),
        1: lambda: dataclasses.replace(p, total_weight=value),
        2: lambda: _chunk(p, j, evaluation=value),
        3: lambda: _chunk(p, j, digest=value),
    }
    bad = candidates[which % 4]()
    if bad == p:
        return
    try:
        assert not rnd.ok(bad)
    except ZkaggError:
        pass


def test_audit_passes_an_honest_round_and_names_each_failure(rnd: Round) -> None:
    vk, h = rnd.prover.pk.vk, kr.model_hash(rnd.ctx, rnd.shape, rnd.n, rnd.proof.digests)
    assert kr.audit_round(vk, rnd.srs, rnd.ctx, rnd.shape, rnd.points, rnd.aggregate, rnd.proof, h).ok
    other = FrArray.from_ints([1] + rnd.aggregate.to_ints()[1:])
    audit = kr.audit_round(vk, rnd.srs, rnd.ctx, rnd.shape, rnd.points, other, rnd.proof, h)
    assert set(audit.failures) == {"C_S != MSM(S) + rho G_B", "chunk digests differ from sponge(S_j)",
                                   "evaluations differ from S_j(z)", "the stored model hash differs"}
    audit = kr.audit_round(vk, rnd.srs, rnd.ctx, rnd.shape, rnd.points[:2], rnd.aggregate, rnd.proof, bytes(32))
    assert set(audit.failures) == {"C_S != MSM(S) + rho G_B", "evaluations differ from S_j(z)",
                                   "the batched pairing check fails", "the stored model hash differs"}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("length", [1, 15, 16, 17, 40])
def test_fast_chunk_witness_equals_the_evaluators(backend: str, length: int) -> None:
    rng = random.Random(length)
    chunk = FrArray.random(length, rng)
    z = rng.randrange(R)
    with use_backend(backend):
        fast = kr.chunk_witness(length, z, chunk)
    arr = chunk
    slow = evaluate(chunk_circuit(length, z, kzg.evaluate(arr, z), kr.chunk_digests(kr.RoundShape(length, length), arr)[0],
                                  chunk.to_ints()))
    assert fast.to_ints() == slow


def test_chunks_proved_in_an_executor_give_an_accepted_round(rnd: Round) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        proof = kr.prove_round(rnd.prover, rnd.srs, rnd.ctx, rnd.shape, aggregate=rnd.aggregate, rho=rnd.rho,
                               total_weight=rnd.n, c_s=rnd.c_s, executor=pool)
    assert proof.digests == rnd.proof.digests and proof.evaluations == rnd.proof.evaluations
    assert rnd.ok(proof)


def test_context_and_shape_refuse_bad_values() -> None:
    with pytest.raises(LengthError):
        kr.RoundContext(1, bytes(19), bytes(32), 1)
    with pytest.raises(LengthError):
        kr.RoundContext(1, bytes(20), bytes(31), 1)
    with pytest.raises(InputError):
        kr.RoundContext(1, bytes(20), bytes(32), -1)
    with pytest.raises(InputError):
        kr.RoundShape(0, 16)
    with pytest.raises(InputError):
        kr.RoundShape(10, 0)
    with pytest.raises(InputError):
        kr.point_hash("X", kr.RoundContext(1, bytes(20), bytes(32), 1), 0, G1Point.generator())


def test_prover_refuses_a_round_of_another_chunk_length(rnd: Round) -> None:
    with pytest.raises(InputError):
        kr.prove_round(rnd.prover, rnd.srs, rnd.ctx, kr.RoundShape(K, 2 * L), aggregate=rnd.aggregate,
                       rho=rnd.rho, total_weight=rnd.n, c_s=rnd.c_s)

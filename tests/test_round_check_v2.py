"""RoundCheckV2.sol against the reference (zkagg.aggregation.kzg_round) on the embedded EVM and
on anvil: honest rounds accepted with the same model hash, every tampering refused, named errors
for malformed input, random rounds where both sides agree, and calldata with any word flipped
never accepted."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.chain_support import new_chain
from tests.test_kzg_round import unit_gamma_prover
from zkagg import kzg
from zkagg.aggregation import kzg_round as kr
from zkagg.bn254 import FrArray, G1Point, use_backend
from zkagg.chain import round_check_v2 as rc
from zkagg.chain.client import Chain, ContractRevert

pytestmark = pytest.mark.chain
R = kr.R
L, K = 16, 40


@dataclasses.dataclass
class Setup:
    chain: Chain
    sender: Any
    address: str
    prover: kr.ChunkProver
    srs: kzg.Srs


@dataclasses.dataclass
class Honest:
    ctx: kr.RoundContext
    shape: kr.RoundShape
    points: list[G1Point]
    c_s: G1Point
    proof: kr.KzgRoundProof
    aggregate: FrArray


_PROVER = kr.ChunkProver.insecure_single_party_setup(L, random.Random(21))
_SRS = kzg.Srs.insecure_from_tau(kzg.random_tau(random.Random(22)), 64)


@pytest.fixture(scope="module", params=["embedded", "anvil"])
def env(request: pytest.FixtureRequest) -> Setup:
    chain = new_chain(request.param)
    sender = chain.new_account()
    address = rc.deploy(chain, _PROVER.pk.vk, _SRS.tau_g2, L, sender)
    return Setup(chain, sender, address, _PROVER, _SRS)


def make_round(env: Setup, seed: int, n_survivors: int = 2, n_dropped: int = 1) -> Honest:
    rng = random.Random(seed)
    shape = kr.RoundShape(K, L)
    ctx = kr.RoundContext(env.chain.w3.eth.chain_id, bytes.fromhex(env.sender.address[2:]), rng.randbytes(32),
                          rng.randrange(1, 1000))
    ys = [FrArray.random(K, rng) for _ in range(n_survivors)]
    ts = [FrArray.random(K, rng) for _ in range(n_dropped)]
    blinders = [rng.randrange(1, R) for _ in range(n_dropped)]
    points = [kzg.commit(env.srs, y) for y in ys]
    points += [kzg.commit_secret(env.srs, t, b, shape.blind_index, rng=rng) for t, b in zip(ts, blinders)]
    aggregate = FrArray.zeros(K)
    for v in ys + ts:
        aggregate = aggregate + v
    c_s = G1Point.infinity()
    for p in points:
        c_s = c_s + p
    proof = kr.prove_round(env.prover, env.srs, ctx, shape, aggregate=aggregate, rho=sum(blinders) % R,
                           total_weight=rng.randrange(1, 10_000), c_s=c_s)
    return Honest(ctx, shape, points, c_s, proof, aggregate)


@pytest.fixture(scope="module")
def honest(env: Setup) -> Honest:
    return make_round(env, 1)


def call(env: Setup, args: tuple[Any, ...], sender: str | None = None) -> bytes:
    return rc.check_round(env.chain, env.address, args, sender or env.sender.address)


def args_of(h: Honest, proof: kr.KzgRoundProof | None = None, points: list[G1Point] | None = None) -> tuple[Any, ...]:
    return rc.round_calldata(h.ctx, points if points is not None else h.points, proof or h.proof)


def with_field(args: tuple[Any, ...], index: int, value: Any) -> tuple[Any, ...]:
    out = list(args)
    out[index] = value
    return tuple(out)


# Round struct fields: 0 job, 1 round, 2 N, 3 points, 4 rho, 5 opening, 6 proofs, 7 e, 8 h

def test_artifact_is_current() -> None:
    from zkagg.chain.compile import source_hash

    assert rc.artifact()["sourceHash"] == source_hash({rc.SOURCE: rc.source()}), \
        "RoundCheckV2.json is stale: run python -m zkagg.chain.round_check_v2"
    built = rc.build()
    assert built["deployedBytecode"] == rc.artifact()["deployedBytecode"]


def test_honest_round_is_accepted_with_the_reference_model_hash(env: Setup, honest: Honest) -> None:
    assert call(env, args_of(honest)) == kr.model_hash(honest.ctx, honest.shape, honest.proof.total_weight,
                                                       honest.proof.digests)
    assert rc.contract(env.chain, env.address).functions.chunkLen().call() == L


def _rejected(env: Setup, args: tuple[Any, ...], error: str = "RoundRejected", sender: str | None = None) -> ContractRevert:
    with pytest.raises(ContractRevert) as err:
        call(env, args, sender)
    assert err.value.error == error, err.value
    return err.value


def _chunk(round_proof: kr.KzgRoundProof, j: int, **changes: Any) -> kr.KzgRoundProof:
    chunks = list(round_proof.chunks)
    chunks[j] = dataclasses.replace(chunks[j], **changes)
    return dataclasses.replace(round_proof, chunks=tuple(chunks))


def test_each_tampering_is_rejected(env: Setup, honest: Honest) -> None:
    p = honest.proof
    c = p.chunks
    g = G1Point.generator()
    for bad in (
        _chunk(p, 1, evaluation=(c[1].evaluation + 1) % R),
        _chunk(p, 2, digest=(c[2].digest + 1) % R),
        dataclasses.replace(p, rho=(p.rho + 1) % R),
        dataclasses.replace(p, total_weight=p.total_weight + 1),
        dataclasses.replace(p, opening=p.opening + g),
        _chunk(p, 0, proof=dataclasses.replace(c[0].proof, a=c[0].proof.a + g)),
        dataclasses.replace(p, chunks=(c[1], c[0], c[2])),
        dataclasses.replace(p, chunks=(c[0], c[0], c[2])),
        dataclasses.replace(p, chunks=c[:2]),
        dataclasses.replace(p, chunks=(*c, c[2])),
    ):
        _rejected(env, args_of(honest, bad))


def test_wrong_points_and_replays_are_rejected(env: Setup, honest: Honest) -> None:
    pts = honest.points
    _rejected(env, args_of(honest, points=pts[:2]))  # the dropped client's E_u left out
    _rejected(env, args_of(honest, points=[pts[0], pts[0], pts[2]]))  # a duplicated survivor
    a = args_of(honest)
    _rejected(env, with_field(a, 1, honest.ctx.round + 1))  # another round
    _rejected(env, with_field(a, 0, bytes(32)))  # another job
    _rejected(env, a, sender=env.chain.new_account().address)  # another ledger


def test_scalars_not_below_r_are_refused_by_name(env: Setup, honest: Honest) -> None:
    a = args_of(honest)
    err = _rejected(env, with_field(a, 7, [a[7][0] + R, *a[7][1:]]), "ScalarNotInField")
    assert err.values == {"what": 0, "index": 0}
    err = _rejected(env, with_field(a, 8, [*a[8][:2], a[8][2] + R]), "ScalarNotInField")
    assert err.values == {"what": 1, "index": 2}
    assert _rejected(env, with_field(a, 4, a[4] + R), "ScalarNotInField").values["what"] == 2
    assert _rejected(env, with_field(a, 2, R), "ScalarNotInField").values["what"] == 3


def test_malformed_points_are_refused_by_name(env: Setup, honest: Honest) -> None:
    a = args_of(honest)
    pts = list(a[3])
    pts[3] = (pts[3] + 1) % kr.R  # point 1 off the curve
    assert _rejected(env, with_field(a, 3, pts), "InvalidPoint").values == {"what": 0, "index": 1}
    assert _rejected(env, with_field(a, 5, [a[5][0], a[5][1] + 1]), "InvalidPoint").values == {"what": 1, "index": 0}
    proofs = list(a[6])
    proofs[8 + 2] += 1  # chunk 1's B off the twist
    assert _rejected(env, with_field(a, 6, proofs), "InvalidPoint").values == {"what": 2, "index": 1}


def test_g2_point_outside_the_subgroup_is_refused_by_name(env: Setup, honest: Honest) -> None:
    vectors = json.loads((Path(__file__).parent / "vectors" / "bn254.json").read_text())
    (x0, x1), (y0, y1) = ([int(a) for a in c2] for c2 in vectors["negative"]["g2_not_in_subgroup"][0])
    a = args_of(honest)
    proofs = list(a[6])
    proofs[8 + 2 : 8 + 6] = [x1, x0, y1, y0]  # chunk 1's B: on the twist, outside the subgroup
    _rejected(env, with_field(a, 6, proofs), "PointNotInSubgroup")


def test_wrong_lengths_are_refused_by_name(env: Setup, honest: Honest) -> None:
    a = args_of(honest)
    assert _rejected(env, with_field(a, 8, a[8][:2]), "WrongLength").values["what"] == 0
    assert _rejected(env, with_field(a, 7, []), "WrongLength").values["what"] == 0
    assert _rejected(env, with_field(a, 6, a[6][:-1]), "WrongLength").values["what"] == 1
    assert _rejected(env, with_field(a, 3, []), "WrongLength").values["what"] == 2
    assert _rejected(env, with_field(a, 3, a[3][:-1]), "WrongLength").values["what"] == 2


def test_a_contract_without_key_refuses(env: Setup, honest: Honest) -> None:
    runtime = bytes.fromhex(rc.artifact()["deployedBytecode"][2:])
    prefix = b"\x61" + len(runtime).to_bytes(2, "big") + b"\x80\x60\x0c\x60\x00\x39\x60\x00\xf3"
    bare = env.chain.deploy(prefix + runtime, env.sender, gas=3_000_000)
    with pytest.raises(ContractRevert) as err:
        rc.check_round(env.chain, bare, args_of(honest), env.sender.address)
    assert err.value.error == "KeyMissing"


TAMPERS = ["none", "evaluation", "digest", "rho", "weight", "opening", "swap", "points", "aggregate"]


def _tampered(env: Setup, h: Honest, kind: str, rng: random.Random) -> tuple[kr.KzgRoundProof, list[G1Point]]:
    p, c, pts = h.proof, h.proof.chunks, h.points
    j = rng.randrange(len(c))
    if kind == "evaluation":
        return _chunk(p, j, evaluation=rng.randrange(R)), pts
    if kind == "digest":
        return _chunk(p, j, digest=rng.randrange(R)), pts
    if kind == "rho":
        return dataclasses.replace(p, rho=rng.randrange(R)), pts
    if kind == "weight":
        return dataclasses.replace(p, total_weight=p.total_weight + rng.randrange(1, 100)), pts
    if kind == "opening":
        return dataclasses.replace(p, opening=p.opening * rng.randrange(2, R)), pts
    if kind == "swap":
        return dataclasses.replace(p, chunks=tuple(reversed(c))), pts
    if kind == "points":
        return p, pts[:-1]
    if kind == "aggregate":  # honest chunk proofs of an altered S, the committed F's opening
        agg = kr.RoundShape(K, L)
        values = [0] * K
        values[rng.randrange(K)] = 1
        forged = FrArray.from_ints(values)
        digests = kr.chunk_digests(agg, forged)
        z = kr.challenge(h.ctx, agg, p.total_weight, h.c_s, p.rho, digests)
        chunks = tuple(env.prover.prove(z, ch) for ch in agg.chunks(forged))
        return dataclasses.replace(p, chunks=chunks), pts
    return p, pts


@pytest.mark.parametrize("seed", range(3))
def test_reference_and_contract_agree_on_random_rounds(env: Setup, seed: int) -> None:
    rng = random.Random(100 + seed)
    h = make_round(env, 100 + seed, n_survivors=rng.randrange(1, 4), n_dropped=rng.randrange(0, 3))
    for kind in rng.sample(TAMPERS, 3) + ["none"]:
        proof, pts = _tampered(env, h, kind, rng)
        c_s = G1Point.infinity()
        for pt in pts:
            c_s = c_s + pt
        expected = kr.verify_round(env.prover.pk.vk, env.srs.tau_g2, h.ctx, h.shape, c_s, proof)
        assert expected == (kind == "none")
        try:
            got = call(env, rc.round_calldata(h.ctx, pts, proof)) == kr.model_hash(
                h.ctx, h.shape, proof.total_weight, proof.digests)
        except ContractRevert as err:
            assert err.error == "RoundRejected", err
            got = False
        assert got == expected, kind


def test_any_flipped_calldata_word_is_never_accepted(env: Setup, honest: Honest) -> None:
    """Every 32-byte word of the encoded call (offsets and lengths included), flipped."""
    if env.chain.is_embedded:
        pytest.skip("about a second per pairing on py-evm: run on anvil")
    fn = rc.contract(env.chain, env.address).functions.checkRound(args_of(honest))
    data = bytes.fromhex(fn._encode_transaction_data()[2:])
    assert env.chain.w3.eth.call({"from": env.sender.address, "to": env.address, "data": data})
    for i in range(4, len(data), 32):
        bad = data[:i] + bytes(b ^ 0xFF for b in data[i : i + 32]) + data[i + 32 :]
        with pytest.raises(Exception):  # noqa: B017 - any revert will do; acceptance is the failure
            env.chain.w3.eth.call({"from": env.sender.address, "to": env.address, "data": bad})


def test_unit_gamma_key_accepts_with_one_pair_fewer(env: Setup) -> None:
    prover = unit_gamma_prover(L, random.Random(31))
    address = rc.deploy(env.chain, prover.pk.vk, env.srs.tau_g2, L, env.sender)
    unit = Setup(env.chain, env.sender, address, prover, env.srs)
    h = make_round(unit, 7)
    assert call(unit, args_of(h)) == kr.model_hash(h.ctx, h.shape, h.proof.total_weight, h.proof.digests)
    _rejected(unit, args_of(h, dataclasses.replace(h.proof, rho=(h.proof.rho + 1) % R)))
    gas_unit = rc.check_round_gas(env.chain, address, args_of(h), env.sender)
    h2 = make_round(env, 7)
    gas_random = rc.check_round_gas(env.chain, env.address, args_of(h2), env.sender)
    assert gas_unit < gas_random  # one pairing pair (34k) fewer, minus nothing else


def test_point_hashes_agree_with_the_reference(env: Setup, honest: Honest) -> None:
    fns = rc.contract(env.chain, env.address).functions
    for slot, point in enumerate(honest.points):
        for kind, mask in (("C", False), ("E", True)):
            words = [point.x, point.y]
            got = fns.pointHash(mask, honest.ctx.job, honest.ctx.round, slot, words).call(
                {"from": env.sender.address})
            assert got == kr.point_hash(kind, honest.ctx, slot, point)
    c0 = kr.point_hash("C", honest.ctx, 0, honest.points[0])
    assert c0 != kr.point_hash("E", honest.ctx, 0, honest.points[0])  # a C_u never passes as E_u
    assert c0 != kr.point_hash("C", honest.ctx, 1, honest.points[0])  # nor for another slot
    assert c0 != kr.point_hash("C", dataclasses.replace(honest.ctx, round=honest.ctx.round + 1), 0,
                               honest.points[0])


def test_py_ecc_reference_agrees_with_the_contract(env: Setup) -> None:
    """C_S, z, v, pi and the pairing product recomputed on the reference engine (py-ecc points
    and pairings, Python ints) for a round, honest and with rho tampered: the same opening, the
    same verdict as the contract."""
    if not env.chain.is_embedded:
        pytest.skip("one engine comparison is enough")
    h = make_round(env, 55)
    with use_backend("reference"):
        c_s = G1Point.infinity()
        for p in h.points:
            c_s = c_s + p
        assert c_s == h.c_s
        z = kr.challenge(h.ctx, h.shape, h.proof.total_weight, c_s, h.proof.rho, h.proof.digests)
        assert kr.aggregate_commitment(env.srs, h.shape, h.aggregate, h.proof.rho) == c_s  # MSM(S) + rho G_B
        opening = kzg.open(env.srs, h.shape.padded(h.aggregate), z, h.proof.rho, h.shape.blind_index)
        assert opening.proof == h.proof.opening
        v = kr.combined_value(h.shape, h.proof.evaluations, h.proof.rho, z)
        ok = kr.verify_round(env.prover.pk.vk, env.srs.tau_g2, h.ctx, h.shape, c_s, h.proof)
        bad = dataclasses.replace(h.proof, rho=(h.proof.rho + 1) % R)
        not_ok = kr.verify_round(env.prover.pk.vk, env.srs.tau_g2, h.ctx, h.shape, c_s, bad)
    assert ok and not not_ok
    assert opening.value == v
    call(env, args_of(h))
    _rejected(env, args_of(h, bad))

"""Groth16: completeness, soundness probes, binding of public inputs, degenerate setups,
the delta ceremony, encodings, and snarkjs interop."""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from zkagg.bn254 import FR_MODULUS, G1Array, G1Point, G2Array, G2Point
from zkagg.circuit import API, R1CS, Circuit, Input, compile_r1cs, evaluate, public, secret
from zkagg.circuit.circom import (
    r1cs_from_bytes,
    r1cs_to_bytes,
    write_r1cs,
    write_wtns,
    wtns_from_bytes,
    wtns_to_bytes,
)
from zkagg.errors import (
    InputError,
    LengthError,
    NonCanonicalError,
    NotOnCurveError,
    SetupError,
    UnsatisfiedConstraintError,
)
from zkagg.groth16 import (
    Proof,
    ProvingKey,
    VerifyingKey,
    contribute,
    insecure_single_party_setup,
    prove,
    verify,
    verify_setup,
)
from zkagg.groth16.qap import domain_size, extended
from zkagg.groth16.setup import ToxicWaste, check_nondegenerate, keys_from_toxic_waste

R = FR_MODULUS


@dataclass
class Statement(Circuit):
    """Three public inputs: a = x^2, b = x * y, c = a + b + 7 (x, y secret)."""

    x: Input = secret()
    y: Input = secret()
    a: Input = public()
    b: Input = public()
    c: Input = public()

    def define(self, api: API) -> None:
        with api.scope("square"):
            api.assert_mul(self.x, self.x, self.a)
        with api.scope("product"):
            api.assert_mul(self.x, self.y, self.b)
        with api.scope("sum"):
            api.assert_equal(self.a + self.b + 7, self.c)


def honest(x: int, y: int) -> Statement:
    a, b = x * x % R, x * y % R
    return Statement(x, y, a, b, (a + b + 7) % R)


@pytest.fixture(scope="module")
def system() -> tuple:
    r1cs = compile_r1cs(Statement())
    rng = random.Random(7)
    pk = insecure_single_party_setup(r1cs, rng)
    z = evaluate(honest(3, 5))
    return r1cs, pk, z, prove(pk, r1cs, z, rng)


def test_completeness(system: tuple) -> None:
    r1cs, pk, z, proof = system
    assert verify(pk.vk, z[1:4], proof)
    for x, y in ((0, 0), (R - 1, 2), (12345, R - 7)):
        w = evaluate(honest(x, y))
        assert verify(pk.vk, w[1:4], prove(pk, r1cs, w))


def test_every_public_input_is_bound(system: tuple) -> None:
    r1cs, pk, z, proof = system
    publics = z[1:4]
    for i in range(3):
        for delta in (1, R - 1, 2**100):
            changed = list(publics)
            changed[i] = (changed[i] + delta) % R
            assert not verify(pk.vk, changed, proof), f"public input {i} is not bound"


def test_public_inputs_are_range_checked_never_reduced(system: tuple) -> None:
    r1cs, pk, z, proof = system
    aliased = [z[1] + R, z[2], z[3]]
    with pytest.raises(NonCanonicalError, match="public input 0"):
        verify(pk.vk, aliased, proof)
    with pytest.raises(LengthError):
        verify(pk.vk, z[1:3], proof)
    with pytest.raises(InputError):
        verify(pk.vk, [True, z[2], z[3]], proof)


def test_unsatisfied_witness_names_the_constraint_and_makes_no_proof(system: tuple) -> None:
    r1cs, pk, z, _ = system
    with pytest.raises(UnsatisfiedConstraintError, match="product"):
        evaluate(dataclasses.replace(honest(3, 5), b=16))
    bad = list(z)
    bad[2] = (bad[2] + 1) % R  # public b
    with pytest.raises(UnsatisfiedConstraintError, match="product"):
        prove(pk, r1cs, bad)
    with pytest.raises(LengthError):
        prove(pk, r1cs, z[:-1])


def test_tampered_proofs_are_rejected(system: tuple) -> None:
    r1cs, pk, z, proof = system
    g1, g2 = G1Point.generator(), G2Point.generator()
    for forged in (Proof(proof.a + g1, proof.b, proof.c), Proof(proof.a, proof.b + g2, proof.c),
                   Proof(proof.a, proof.b, proof.c + g1), Proof(proof.c, proof.b, proof.a),
                   Proof(G1Point.infinity(), G2Point.infinity(), G1Point.infinity())):
        assert not verify(pk.vk, z[1:4], forged)
    raw = bytearray(proof.to_bytes())
    raw[63] ^= 1  # A's y coordinate: off the curve
    with pytest.raises(NotOnCurveError):
        Proof.from_bytes(bytes(raw))
    with pytest.raises(LengthError):
        Proof.from_bytes(proof.to_bytes()[:-1])


def test_proof_from_another_key_or_statement_does_not_verify(system: tuple) -> None:
    r1cs, pk, z, proof = system
    other = insecure_single_party_setup(r1cs, random.Random(99))
    assert not verify(other.vk, z[1:4], proof)


def test_degenerate_setups_are_refused() -> None:
    r1cs = compile_r1cs(Statement())
    for tau in (1, 0):  # tau = 1: what an uncontributed powers-of-tau file gives
        with pytest.raises(SetupError):
            keys_from_toxic_waste(r1cs, ToxicWaste(tau, 2, 3, 4, 5))
    with pytest.raises(SetupError, match="gamma"):
        keys_from_toxic_waste(r1cs, ToxicWaste(11, 2, 3, 4, 4))
    pk = insecure_single_party_setup(r1cs, random.Random(3))
    ic = list(pk.vk.ic)
    ic[2] = G1Point.infinity()
    with pytest.raises(SetupError, match="IC\\[2\\]"):
        check_nondegenerate(dataclasses.replace(pk, vk=dataclasses.replace(pk.vk, ic=tuple(ic))))
    ic[2] = ic[1]
    with pytest.raises(SetupError, match="repeats"):
        check_nondegenerate(dataclasses.replace(pk, vk=dataclasses.replace(pk.vk, ic=tuple(ic))))


def textbook_keys(r1cs: R1CS, t: ToxicWaste) -> ProvingKey:
    """The key from the definitions, independently of the setup's code path: Lagrange basis as
    products over the domain, Python ints, one variable-base multiplication per point."""
    n = domain_size(r1cs)
    w = pow(5, (R - 1) // n, R)  # the root of unity of the NTT (generator 5)
    dom = [pow(w, i, R) for i in range(n)]
    lag = []
    for i in range(n):
        num = den = 1
        for j in range(n):
            if j != i:
                num, den = num * (t.tau - dom[j]) % R, den * (dom[i] - dom[j]) % R
        lag.append(num * pow(den, -1, R) % R)
    mats = extended(r1cs)
    u, v, c = ([sum(mat.row(i).get(k, 0) * lag[i] for i in range(mat.n_rows)) % R for k in range(r1cs.n_wires)]
               for mat in mats)
    g1, g2, n_pub = G1Point.generator(), G2Point.generator(), r1cs.n_public
    mixed = [(t.beta * u[k] + t.alpha * v[k] + c[k]) % R for k in range(r1cs.n_wires)]
    gi, di = pow(t.gamma, -1, R), pow(t.delta, -1, R)
    z = (pow(t.tau, n, R) - 1) % R
    vk = VerifyingKey(g1 * t.alpha, g2 * t.beta, g2 * t.gamma, g2 * t.delta,
                      tuple(g1 * (x * gi) for x in mixed[: n_pub + 1]))
    return ProvingKey(
        vk=vk, beta_g1=g1 * t.beta, delta_g1=g1 * t.delta,
        a_query=G1Array.from_points([g1 * x for x in u]),
        b_g1_query=G1Array.from_points([g1 * x for x in v]),
        b_g2_query=G2Array.from_points([g2 * x for x in v]),
        l_query=G1Array.from_points([g1 * (x * di) for x in mixed[n_pub + 1 :]]),
        h_query=G1Array.from_points([g1 * (pow(t.tau, i, R) * z * di) for i in range(n - 1)]),
        domain_size=n,
    )


def test_setup_equals_the_textbook_keys() -> None:
    """Same key as the definitions give, including the B-query points at infinity for wires
    that appear in no B row (a, b and c here), which the setup skips by structure."""
    rng = random.Random(17)
    r1cs = compile_r1cs(Statement())
    for toxic in (ToxicWaste(*(rng.randrange(1, R) for _ in range(5))), ToxicWaste(2, 3, 5, 7, 11)):
        pk = keys_from_toxic_waste(r1cs, toxic)
        assert pk == textbook_keys(r1cs, toxic)
        assert sum(p.is_infinity for p in pk.b_g2_query) == 3


def test_ceremony_contributions_verify_and_tampering_is_caught() -> None:
    r1cs = compile_r1cs(Statement())
    rng = random.Random(11)
    initial = insecure_single_party_setup(r1cs, rng)
    pk1, c1 = contribute(initial, rng)
    pk2, c2 = contribute(pk1, rng)
    verify_setup(initial, [c1, c2], pk2, rng)
    z = evaluate(honest(4, 9))
    assert verify(pk2.vk, z[1:4], prove(pk2, r1cs, z, rng))
    assert pk2.vk.delta_g2 != initial.vk.delta_g2
    with pytest.raises(SetupError, match="contribution 1"):
        verify_setup(initial, [c1, dataclasses.replace(c2, response=(c2.response + 1) % R)], pk2, rng)
    with pytest.raises(SetupError, match="final delta"):
        verify_setup(initial, [c1], pk2, rng)
    forged = dataclasses.replace(pk2, h_query=pk1.h_query)
    with pytest.raises(SetupError, match="h_query"):
        verify_setup(initial, [c1, c2], forged, rng)


def test_key_and_proof_encodings_roundtrip(system: tuple) -> None:
    r1cs, pk, z, proof = system
    assert ProvingKey.from_bytes(pk.to_bytes()) == pk
    assert VerifyingKey.from_bytes(pk.vk.to_bytes()) == pk.vk
    assert Proof.from_bytes(proof.to_bytes()) == proof
    assert VerifyingKey.from_snarkjs(json.loads(json.dumps(pk.vk.to_snarkjs()))) == pk.vk
    assert Proof.from_snarkjs(proof.to_snarkjs()) == proof
    with pytest.raises(InputError):
        VerifyingKey.from_bytes(b"zkaggPK1" + pk.vk.to_bytes()[8:])
    with pytest.raises(LengthError):
        VerifyingKey.from_bytes(pk.vk.to_bytes() + b"\x00")


def test_circom_files_roundtrip(system: tuple) -> None:
    r1cs, pk, z, proof = system
    back = r1cs_from_bytes(r1cs_to_bytes(r1cs))
    assert back.n_wires == r1cs.n_wires and back.n_public == r1cs.n_public
    assert [back.a.row(i) for i in range(r1cs.n_constraints)] == [r1cs.a.row(i) for i in range(r1cs.n_constraints)]
    assert wtns_from_bytes(wtns_to_bytes(z)).to_ints() == z
    with pytest.raises(InputError):
        r1cs_from_bytes(b"wtns" + r1cs_to_bytes(r1cs)[4:])
    with pytest.raises(LengthError):
        r1cs_from_bytes(r1cs_to_bytes(r1cs)[:-5])


# ---- snarkjs (npm, installed on first use) ----

def _snarkjs():  # noqa: ANN202
    from zkagg.bench import npm

    try:
        npm.package("snarkjs")
    except npm.NodeUnavailableError as err:
        pytest.skip(str(err))
    return npm.snarkjs


def test_snarkjs_verifies_zkagg_proofs(system: tuple, tmp_path: Path) -> None:
    snarkjs = _snarkjs()
    r1cs, pk, z, proof = system
    (tmp_path / "vk.json").write_text(json.dumps(pk.vk.to_snarkjs()))
    (tmp_path / "proof.json").write_text(json.dumps(proof.to_snarkjs()))
    (tmp_path / "public.json").write_text(json.dumps([str(v) for v in z[1:4]]))
    out = snarkjs("groth16", "verify", str(tmp_path / "vk.json"), str(tmp_path / "public.json"), str(tmp_path / "proof.json"))
    assert "OK" in out.stdout
    (tmp_path / "public.json").write_text(json.dumps([str(z[1]), str(z[2]), str((z[3] + 1) % R)]))
    with pytest.raises(Exception, match="Invalid proof"):
        snarkjs("groth16", "verify", str(tmp_path / "vk.json"), str(tmp_path / "public.json"), str(tmp_path / "proof.json"))


def test_snarkjs_reads_zkagg_r1cs_and_witness(system: tuple, tmp_path: Path) -> None:
    """The same R1CS and witness files are accepted by snarkjs (its own checker)."""
    snarkjs = _snarkjs()
    r1cs, pk, z, proof = system
    write_r1cs(tmp_path / "c.r1cs", r1cs)
    write_wtns(tmp_path / "c.wtns", z)
    out = snarkjs("wtns", "check", str(tmp_path / "c.r1cs"), str(tmp_path / "c.wtns"))
    assert "WITNESS IS CORRECT" in out.stdout
    info = snarkjs("r1cs", "info", str(tmp_path / "c.r1cs")).stdout
    assert "# of Constraints: 3" in info and "# of Public Inputs: 3" in info

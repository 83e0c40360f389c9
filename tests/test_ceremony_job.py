"""Jobs, the Flower workflow and the demo prove only with keys that carry a verifiable
transcript, unless the caller names the insecure single-party setup."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from zkagg.ceremony import phase1, phase2, ptau
from zkagg.ceremony.job_keys import (
    INSECURE_SINGLE_PARTY_SETUP,
    LOCAL_CEREMONY,
    UnverifiableKeyError,
    job_proving_key,
    local_ptau,
)
from zkagg.circuit.circom import read_r1cs, read_wtns
from zkagg.errors import InputError, SetupError
from zkagg.fl import Job
from zkagg.flower import ZkaggWorkflow
from zkagg.groth16 import prove, verify
from zkagg.ledger import MemoryLedger
from zkagg.secagg import Quantization

Q = Quantization(bits=16, frac_bits=12, clip=4.0)
SMALL = dict(n_clients=3, max_weight=5, quantization=Q, neighbours=2, chunk_len=1)


def template() -> np.ndarray:
    return np.zeros(4, dtype=np.float32)


def test_no_key_is_refused_by_name() -> None:
    with pytest.raises(UnverifiableKeyError, match="pass ptau="):
        Job(template(), **SMALL)
    with pytest.raises(UnverifiableKeyError, match="pass ptau="):
        ZkaggWorkflow(n_clients=3, ledger=MemoryLedger())
    with pytest.raises(InputError, match="the named setups"):
        Job(template(), **SMALL, setup="trust me")


def test_a_bare_proving_key_needs_the_insecure_name() -> None:
    insecure = Job(template(), **SMALL, setup=INSECURE_SINGLE_PARTY_SETUP)
    with pytest.raises(UnverifiableKeyError, match="bare ProvingKey"):
        Job(template(), **SMALL, proving_key=insecure.proving_key)
    with pytest.raises(UnverifiableKeyError, match="bare ProvingKey"):
        ZkaggWorkflow(n_clients=3, ledger=MemoryLedger(), proving_key=insecure.proving_key)
    again = Job(template(), **SMALL, proving_key=insecure.proving_key, setup=INSECURE_SINGLE_PARTY_SETUP)
    assert again.proving_key is insecure.proving_key


@pytest.fixture(scope="module")
def pot() -> ptau.Ptau:
    # power 12: the smallest chunk circuit of a 3-client job has 3465 constraints
    return ptau.prepare_phase2(phase1.contribute(phase1.new(12), "test", rng=random.Random(3)))


@pytest.mark.slow
def test_a_job_on_keys_from_a_contributed_ptau(pot: ptau.Ptau) -> None:
    job = Job(template(), **SMALL, ptau=pot)
    updates = {c: (np.full(4, 0.25 * c, dtype=np.float32), c + 1) for c in range(3)}
    published = job.run_round(updates)
    assert np.allclose(published.model, (0.25 * 1 * 2 + 0.5 * 3) / 6, atol=2.0**-12)
    assert job.audit().ok
    # a ceremony key (Zkey) for the same circuit is checked against its ptau and accepted
    zk = phase2.contribute(phase2.setup(job.aggregation.r1cs, pot), "ceremony", rng=random.Random(5))
    with pytest.raises(UnverifiableKeyError, match="pass ptau= as well"):
        Job(template(), **SMALL, proving_key=zk)
    ok = Job(template(), **SMALL, proving_key=zk, ptau=pot)
    assert ok.verifying_key == zk.verifying_key()
    # ... and a tampered one is refused (control: the untampered one above passes)
    bad = replace(zk, delta_g1=zk.delta_g1 * 2)
    with pytest.raises(SetupError):
        Job(template(), **SMALL, proving_key=bad, ptau=pot)


@pytest.mark.slow
def test_an_uncontributed_ptau_is_refused(pot: ptau.Ptau) -> None:
    with pytest.raises(SetupError, match="no contribution"):
        Job(template(), **SMALL, ptau=phase1.new(12))


ST = Path(__file__).parent / "vectors" / "zkey"


def test_local_ceremony_takes_no_outside_material() -> None:
    pot = phase1.contribute(phase1.new(3), "x", rng=random.Random(9))
    with pytest.raises(InputError, match="makes its own ptau"):
        Job(template(), **SMALL, setup=LOCAL_CEREMONY, ptau=pot)
    with pytest.raises(InputError, match="makes its own ptau"):
        ZkaggWorkflow(n_clients=3, ledger=MemoryLedger(), setup=LOCAL_CEREMONY, ptau=pot)


def test_local_ceremony_key_proves_and_its_ptau_verifies() -> None:
    r1cs = read_r1cs(ST / "st.r1cs")
    pot = local_ptau(r1cs)
    assert pot.prepared is not None and len(pot.contributions) == 1
    phase1.verify(ptau.parse(ptau.to_bytes(pot)))  # the prepared sections pass check_prepared too
    pk = job_proving_key(r1cs, setup=LOCAL_CEREMONY)
    w = read_wtns(ST / "st.wtns")
    proof = prove(pk, r1cs, w, rng=random.Random(1))
    assert verify(pk.vk, w[1:4].to_ints(), proof)

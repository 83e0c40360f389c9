"""The Groth16 prover. It checks the witness first (an unsatisfied constraint is reported by its
label, and no proof is made) and verifies its own proof before returning it."""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence

from ..bn254 import FR_MODULUS, FrArray, msm_many
from ..circuit import R1CS
from ..errors import LengthError, ProofError, UnsatisfiedConstraintError
from .keys import Proof, ProvingKey
from .qap import odd_coset_evaluations, quotient
from .verifier import verify

R = FR_MODULUS


def prove(pk: ProvingKey, r1cs: R1CS, witness: FrArray | Sequence[int],
          rng: random.Random | None = None) -> Proof:
    """A proof that `witness` (the full wire vector [1, public..., private...]) satisfies r1cs.
    Pass an rng only in tests: the blinding factors come from the OS CSPRNG otherwise."""
    z = witness if isinstance(witness, FrArray) else FrArray.from_ints(witness)
    if len(z) != pk.n_wires or r1cs.n_wires != pk.n_wires or r1cs.n_public != pk.vk.n_public:
        raise LengthError(
            f"witness has {len(z)} wires; the key expects {pk.n_wires} with {pk.vk.n_public} public"
        )
    rows = r1cs.rows(z)
    bad = r1cs.first_failing_row(*rows)
    if bad >= 0:
        raise UnsatisfiedConstraintError(r1cs.label(bad), f"row {bad}")
    if pk.h_basis == "odd_lagrange":
        h = odd_coset_evaluations(rows, z[: r1cs.n_public + 1], pk.domain_size)
    else:
        h = quotient(rows, z[: r1cs.n_public + 1], pk.domain_size)
    r_, s_ = ((rng.randrange(R) if rng else secrets.randbelow(R)) for _ in range(2))
    vk, n_pub = pk.vk, pk.vk.n_public
    # one call: z is recoded once for A, B and L, and the five MSMs share the threads
    a_z, b_z, b1_z, l_z, h_h = msm_many([(pk.a_query, z, 0), (pk.b_g2_query, z, 0), (pk.b_g1_query, z, 0),
                                         (pk.l_query, z, n_pub + 1), (pk.h_query, h, 0)])
    a = vk.alpha_g1 + a_z + pk.delta_g1 * r_
    b2 = vk.beta_g2 + b_z + vk.delta_g2 * s_
    b1 = pk.beta_g1 + b1_z + pk.delta_g1 * s_
    c = l_z + h_h + a * s_ + b1 * r_ + pk.delta_g1 * (-r_ * s_ % R)
    proof = Proof(a, b2, c)
    if not verify(vk, z[1 : n_pub + 1].to_ints(), proof):
        raise ProofError("the new proof does not verify: the proving key does not match the verifying key")
    return proof

"""The Groth16 verifier: e(A, B) = e(alpha, beta) e(sum x_i IC_i, gamma) e(C, delta)."""

from __future__ import annotations

from collections.abc import Sequence

from ..bn254 import FR_MODULUS, FrArray, G1Array
from ..bn254.pairing import pairing_product_is_one
from ..errors import InputError, LengthError, NonCanonicalError
from .keys import Proof, VerifyingKey


def public_inputs(vk: VerifyingKey, inputs: Sequence[int]) -> FrArray:
    """Validate public inputs: the right count, each an int in [0, r) (never reduced)."""
    if len(inputs) != vk.n_public:
        raise LengthError(f"expected {vk.n_public} public inputs, got {len(inputs)}")
    for i, x in enumerate(inputs):
        if not isinstance(x, int) or isinstance(x, bool):
            raise InputError(f"public input {i} must be an int")
        if not 0 <= x < FR_MODULUS:
            raise NonCanonicalError(f"public input {i} = {x} is not below r")
    return FrArray.from_ints([1, *inputs])


def verify(vk: VerifyingKey, inputs: Sequence[int], proof: Proof) -> bool:
    """True iff the proof verifies for these public inputs. Malformed inputs raise."""
    if not isinstance(proof, Proof) or not isinstance(vk, VerifyingKey):
        raise InputError("verify takes a VerifyingKey and a Proof")
    x = public_inputs(vk, inputs)
    vk_x = G1Array.from_points(vk.ic).msm(x)
    return pairing_product_is_one([
        (-proof.a, proof.b),
        (vk.alpha_g1, vk.beta_g2),
        (vk_x, vk.gamma_g2),
        (proof.c, vk.delta_g2),
    ])

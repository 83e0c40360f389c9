"""Groth16 over BN254: setup (with delta contributions), prove, verify, snarkjs interop."""

from .keys import (
    DegenerateSetupError,
    Proof,
    ProvingKey,
    VerifyingKey,
    check_proving_key,
    check_verifying_key,
)
from .prover import prove
from .setup import Contribution, contribute, insecure_single_party_setup, verify_setup
from .verifier import verify

__all__ = [
    "Contribution",
    "DegenerateSetupError",
    "check_proving_key",
    "check_verifying_key",
    "Proof",
    "ProvingKey",
    "VerifyingKey",
    "contribute",
    "prove",
    "insecure_single_party_setup",
    "verify",
    "verify_setup",
]

"""Groth16 over BN254: setup (with delta contributions), prove, verify, snarkjs interop."""

from .keys import Proof, ProvingKey, VerifyingKey
from .prover import prove
from .setup import Contribution, contribute, setup, verify_setup
from .verifier import verify

__all__ = [
    "Contribution",
    "Proof",
    "ProvingKey",
    "VerifyingKey",
    "contribute",
    "prove",
    "setup",
    "verify",
    "verify_setup",
]

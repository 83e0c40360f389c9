"""The multi-party setup: powers of tau (phase 1) and Groth16 keys from them (phase 2), in
snarkjs's file formats (.ptau, .zkey)."""

from . import phase1, phase2, ptau, zkey
from .phase1 import beacon, contribute, first_challenge, new, verify
from .ptau import (
    DegenerateSetupError,
    Prepared,
    Ptau,
    PtauContribution,
    PtauFormatError,
    load,
    read_tau_g1_prefix,
    save,
)

__all__ = [
    "phase1",
    "phase2",
    "ptau",
    "zkey",
    "DegenerateSetupError",
    "Prepared",
    "Ptau",
    "PtauContribution",
    "PtauFormatError",
    "beacon",
    "contribute",
    "first_challenge",
    "load",
    "new",
    "read_tau_g1_prefix",
    "save",
    "verify",
]

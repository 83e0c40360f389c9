"""The multi-party setup: powers of tau (phase 1) and Groth16 keys from them (phase 2), in
snarkjs's file formats (.ptau, .zkey). Submodules: `ptau` (file), `phase1` (new, contribute,
beacon, verify), `zkey` (file), `phase2` (keys from a ptau), `job_keys` (which keys a job may
use), `glv` (public G1 multiplications of phase 2), `cli` (`zkagg ptau|groth16 ...`). Names are loaded on first use, so that the command line
starts without the native core."""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "beacon": "phase1", "contribute": "phase1", "first_challenge": "phase1", "new": "phase1",
    "verify": "phase1", "Prepared": "ptau", "Ptau": "ptau", "PtauContribution": "ptau",
    "PtauFormatError": "ptau", "load": "ptau", "read_tau_g1_prefix": "ptau", "save": "ptau",
    "DegenerateSetupError": "ptau", "Zkey": "zkey", "ZkeyFormatError": "zkey",
    "UnverifiableKeyError": "job_keys", "INSECURE_SINGLE_PARTY_SETUP": "job_keys",
    "LOCAL_CEREMONY": "job_keys", "local_ptau": "job_keys",
}
_SUBMODULES = ("phase1", "phase2", "ptau", "zkey", "job_keys", "lagrange", "glv", "cli")

__all__ = sorted([*_NAMES, *_SUBMODULES])


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

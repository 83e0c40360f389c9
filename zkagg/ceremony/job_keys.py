"""Which keys a job may prove with: only keys with a verifiable transcript, unless the caller
names the insecure path explicitly.

A key is acceptable when it comes from a ceremony zkagg can check: a phase-2 `Zkey` verified
against the job's circuit and its powers of tau (phase 1 verified too), or one derived here from
a ptau (setup plus one local contribution, so the key has a phase-2 transcript). A bare
`ProvingKey`, or no key at all, means one party knew every secret; that is refused unless the
caller passes `setup=INSECURE_SINGLE_PARTY_SETUP` (tests and demos).

`setup=LOCAL_CEREMONY` runs the ceremony path here: a fresh ptau sized for the circuit, one
contribution (which also fills the phase-2 sections), its verification, then phase 2 and one
contribution. The process that runs it saw τ, α, β and δ while contributing, so the key is as
trusted as that process (as with the single-party setup), but it is made by the ceremony code
with both transcripts checked. For one-machine runs (the demo); `local_ptau` gives the ptau alone,
to save and pass to other contributors.
"""

from __future__ import annotations

import os

from ..circuit import R1CS
from ..errors import InputError, SetupError
from ..groth16 import ProvingKey, insecure_single_party_setup
from ..groth16.qap import domain_size
from . import phase1, phase2
from .ptau import Ptau, load
from .zkey import Zkey

INSECURE_SINGLE_PARTY_SETUP = "insecure_single_party_setup"
LOCAL_CEREMONY = "local_ceremony"
_NAMED = (INSECURE_SINGLE_PARTY_SETUP, LOCAL_CEREMONY)

PtauSource = Ptau | str | os.PathLike[str]


class UnverifiableKeyError(SetupError):
    """A key without a verifiable transcript was offered where a ceremony key is required."""


def load_verified_ptau(ptau: PtauSource) -> Ptau:
    """A Ptau object or a .ptau path, verified as a whole transcript."""
    pot = ptau if isinstance(ptau, Ptau) else load(ptau)
    phase1.verify(pot)
    return pot


def check_key_sources(proving_key: ProvingKey | Zkey | None, ptau: PtauSource | None,
                      setup: str | None) -> None:
    """The checks of job_proving_key that need no circuit: run them when a job or workflow is
    configured, before anything is computed."""
    if setup is not None and setup not in _NAMED:
        raise InputError(f"setup: the named setups are {' and '.join(map(repr, _NAMED))}, not {setup!r}")
    if setup == LOCAL_CEREMONY:
        if proving_key is not None or ptau is not None:
            raise InputError(f"setup={LOCAL_CEREMONY!r} makes its own ptau and key: pass neither ptau= nor proving_key=")
        return
    insecure = setup == INSECURE_SINGLE_PARTY_SETUP
    if isinstance(proving_key, Zkey):
        if ptau is None:
            raise UnverifiableKeyError("a .zkey is checked against its powers of tau: pass ptau= as well")
    elif isinstance(proving_key, ProvingKey):
        if not insecure:
            raise UnverifiableKeyError(
                "a bare ProvingKey has no verifiable transcript: pass a Zkey with its ptau, or "
                f"setup={INSECURE_SINGLE_PARTY_SETUP!r} to accept it (tests and demos only)")
    elif proving_key is not None:
        raise InputError(f"proving_key must be a ProvingKey or a Zkey, not {type(proving_key).__name__}")
    elif ptau is None and not insecure:
        raise UnverifiableKeyError(
            "no key: pass ptau= (a contributed powers of tau, e.g. a public ceremony's .ptau) or "
            f"proving_key= a Zkey with its ptau; setup={INSECURE_SINGLE_PARTY_SETUP!r} makes a "
            "single-party key for tests and demos")
    if ptau is not None and not isinstance(ptau, (Ptau, str, os.PathLike)):
        raise InputError(f"ptau must be a Ptau or a .ptau path, not {type(ptau).__name__}")


def job_proving_key(r1cs: R1CS, *, proving_key: ProvingKey | Zkey | None = None,
                    ptau: PtauSource | None = None, setup: str | None = None,
                    contributor: str = "zkagg job") -> ProvingKey:
    """The proving key for `r1cs` under the rule above; UnverifiableKeyError names the way out."""
    check_key_sources(proving_key, ptau, setup)
    if isinstance(proving_key, Zkey):
        assert ptau is not None
        phase2.verify(proving_key, r1cs, load_verified_ptau(ptau), ptau_verified=True)
        return proving_key.proving_key()
    if isinstance(proving_key, ProvingKey):
        return proving_key
    if setup == LOCAL_CEREMONY:
        ptau = local_ptau(r1cs)
    if ptau is not None:
        zk = phase2.setup(r1cs, load_verified_ptau(ptau), ptau_verified=True)
        return phase2.contribute(zk, contributor).proving_key()
    return insecure_single_party_setup(r1cs)


def local_ptau(r1cs: R1CS, name: str = "zkagg local ceremony") -> Ptau:
    """A fresh powers of tau of the smallest power `r1cs` fits, with one contribution made here
    (OS randomness) and its phase-2 sections filled by that contribution (fixed-base kernel)."""
    power = max(domain_size(r1cs).bit_length() - 1, 1)
    return phase1.contribute(phase1.new(power), name, prepare=True)

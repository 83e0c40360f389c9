"""`zkagg ptau ...` and `zkagg groth16 ...`: the ceremony and Groth16 commands for circom/snarkjs
users, over .ptau, .zkey, .r1cs, .wtns and snarkjs JSON. Each command is a few lines over a
public function; every bad file ends in one `zkagg: error: ...` line (the readers raise
ZkaggError subclasses) and a non-zero exit. `register(subparsers)` is the hook `zkagg.cli` calls.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import InputError


def _hex(value: str) -> bytes:
    try:
        return bytes.fromhex(value[2:] if value.startswith("0x") else value)
    except ValueError as err:
        raise InputError(f"beacon hash must be hex, not {value!r}") from err


def _read_json(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: cannot read JSON ({err})") from err


def _write_text(path: str, text: str) -> None:
    from .ptau import write_atomic

    write_atomic(path, text.encode())


# ---- ptau ----

def _ptau_new(args: argparse.Namespace) -> int:
    from . import phase1, ptau

    ptau.save(phase1.new(args.power), args.out)
    print(f"{args.out}: fresh accumulator, power {args.power} (contribute before use)")
    return 0


def _ptau_contribute(args: argparse.Namespace) -> int:
    from . import phase1, ptau

    new = phase1.contribute(ptau.load(args.input, initial_ok=True), args.name, prepare=args.prepare)
    ptau.save(new, args.out)
    print(f"{args.out}: contribution {len(new.contributions)}{', prepared for phase 2' if new.prepared else ''}; "
          f"response hash {new.contributions[-1].response_hash.hex()}")
    return 0


def _ptau_beacon(args: argparse.Namespace) -> int:
    from . import phase1, ptau

    new = phase1.beacon(ptau.load(args.input, initial_ok=True), _hex(args.beacon), args.iterations_exp, args.name)
    ptau.save(new, args.out)
    print(f"{args.out}: beacon contribution {len(new.contributions)}")
    return 0


def _ptau_verify(args: argparse.Namespace) -> int:
    from . import phase1, ptau

    pot = ptau.load(args.input)
    phase1.verify(pot)
    for i, c in enumerate(pot.contributions, 1):
        kind = "beacon" if c.is_beacon else "contribution"
        print(f"#{i} {kind} {c.name!r}: next challenge {c.next_challenge.hex()[:32]}...")
    print(f"{args.input}: powers of tau OK (power {pot.power}, {len(pot.contributions)} contributions"
          f"{', prepared for phase 2' if pot.prepared else ''})")
    return 0


def _ptau_import(args: argparse.Namespace) -> int:
    """A ptau from elsewhere (snarkjs, a public ceremony): verified, then written (prepared for
    phase 2 with --prepare)."""
    from . import phase1, ptau

    pot = ptau.load(args.input)
    phase1.verify(pot)
    if args.prepare and pot.prepared is None:
        pot = ptau.prepare_phase2(pot)
    ptau.save(pot, args.out)
    print(f"{args.out}: verified and written (power {pot.power})")
    return 0


def _ptau_export(args: argparse.Namespace) -> int:
    """The powers as JSON (decimal strings, snarkjs's point encoding), optionally a prefix."""
    from ..groth16.keys import g1_json, g2_json
    from . import ptau

    pot = ptau.load(args.input)
    n = len(pot.tau_g1) if args.powers is None else args.powers
    if not 0 < n <= len(pot.tau_g1):
        raise InputError(f"--powers must be in [1, {len(pot.tau_g1)}], not {n}")
    m = min(n, len(pot.tau_g2))
    obj = {"power": pot.power, "tauG1": [g1_json(p) for p in pot.tau_g1[:n]],
           "tauG2": [g2_json(p) for p in pot.tau_g2[:m]],
           "alphaTauG1": [g1_json(p) for p in pot.alpha_tau_g1[:m]],
           "betaTauG1": [g1_json(p) for p in pot.beta_tau_g1[:m]], "betaG2": g2_json(pot.beta_g2)}
    _write_text(args.out, json.dumps(obj, indent=1))
    print(f"{args.out}: {n} powers")
    return 0


# ---- groth16 ----

def _r1cs(path: str, sym: str | None = None) -> Any:
    from ..circuit.circom import read_r1cs

    return read_r1cs(path, sym)


def _g16_setup(args: argparse.Namespace) -> int:
    from . import phase2, ptau, zkey

    zk = phase2.setup(_r1cs(args.r1cs), ptau.load(args.ptau))
    zkey.save(zk, args.out)
    print(f"{args.out}: initial key (delta = 1): contribute before proving")
    return 0


def _g16_contribute(args: argparse.Namespace) -> int:
    from . import phase2, zkey

    zk = phase2.contribute(zkey.load(args.input), args.name)
    zkey.save(zk, args.out)
    print(f"{args.out}: contribution {len(zk.contributions)}; hash "
          f"{phase2.contribution_hash(zk.contributions[-1]).hex()}")
    return 0


def _g16_beacon(args: argparse.Namespace) -> int:
    from . import phase2, zkey

    zk = phase2.beacon(zkey.load(args.input), _hex(args.beacon), args.iterations_exp, args.name)
    zkey.save(zk, args.out)
    print(f"{args.out}: beacon contribution {len(zk.contributions)}")
    return 0


def _g16_verify_setup(args: argparse.Namespace) -> int:
    from . import phase2, ptau, zkey

    zk = zkey.load(args.zkey)
    phase2.verify(zk, _r1cs(args.r1cs), ptau.load(args.ptau))
    print(f"{args.zkey}: key OK ({len(zk.contributions)} phase-2 contributions over a verified ptau)")
    return 0


def _proving_key(path: str, insecure: bool) -> Any:
    """A .zkey (carries its transcript), or zkagg's own key bytes only with the insecure name."""
    from ..groth16 import ProvingKey
    from .job_keys import INSECURE_SINGLE_PARTY_SETUP, UnverifiableKeyError
    from .zkey import MAGIC, load

    try:
        head = Path(path).read_bytes()[:4]
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from err
    if head == MAGIC:
        return load(path).proving_key()
    if not insecure:
        raise UnverifiableKeyError(f"{path}: not a .zkey; a key without a verifiable transcript needs "
                                   f"--{INSECURE_SINGLE_PARTY_SETUP.replace('_', '-')}")
    return ProvingKey.from_bytes(Path(path).read_bytes())


def _g16_prove(args: argparse.Namespace) -> int:
    from ..circuit.circom import read_wtns
    from ..groth16 import prove

    pk = _proving_key(args.zkey, args.insecure_single_party_setup)
    w = read_wtns(args.wtns)
    proof = prove(pk, _r1cs(args.r1cs, args.sym), w)  # verified before it is returned
    public = [str(x) for x in w[1 : pk.vk.n_public + 1].to_ints()]
    _write_text(args.proof, json.dumps(proof.to_snarkjs(), indent=1))
    _write_text(args.public, json.dumps(public, indent=1))
    print(f"{args.proof}, {args.public}: proof of {len(public)} public inputs (verified)")
    return 0


def _verifying_key(path: str) -> Any:
    from ..groth16 import VerifyingKey
    from .zkey import MAGIC, load

    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from err
    if data[:4] == MAGIC:
        return load(path).verifying_key()
    if data[:8] == b"zkaggVK1":
        return VerifyingKey.from_bytes(data)
    return VerifyingKey.from_snarkjs(_read_json(path))


def _g16_verify(args: argparse.Namespace) -> int:
    from ..groth16 import Proof, verify

    vk = _verifying_key(args.vk)
    public = _read_json(args.public)
    if not isinstance(public, list) or not all(isinstance(x, str) and x.isascii() and x.isdigit() for x in public):
        raise InputError(f"{args.public}: public inputs must be a JSON list of decimal strings")
    ok = verify(vk, [int(x) for x in public], Proof.from_snarkjs(_read_json(args.proof)))
    print("OK: the proof verifies" if ok else "INVALID: the proof does not verify")
    return 0 if ok else 1


def _g16_export_vk(args: argparse.Namespace) -> int:
    from .zkey import load

    _write_text(args.out, json.dumps(load(args.zkey).verifying_key().to_snarkjs(), indent=1))
    print(f"{args.out}: verification key")
    return 0


def register(sub: Any) -> None:
    """Add the `ptau` and `groth16` command groups to zkagg's subparsers."""
    p = sub.add_parser("ptau", help="powers of tau (phase 1), snarkjs .ptau files")
    ps = p.add_subparsers(dest="ptau_command", required=True)
    c = ps.add_parser("new", help="a fresh accumulator of 2^POWER powers")
    c.add_argument("power", type=int)
    c.add_argument("out", metavar="OUT.ptau")
    c.set_defaults(func=_ptau_new)
    c = ps.add_parser("contribute", help="add a contribution (secrets from the OS CSPRNG)")
    c.add_argument("input", metavar="IN.ptau")
    c.add_argument("out", metavar="OUT.ptau")
    c.add_argument("--name", default="", help="contributor name recorded in the file")
    c.add_argument("--prepare", action="store_true",
                   help="also fill the phase-2 sections 12-15 (first contribution to a fresh file only)")
    c.set_defaults(func=_ptau_contribute)
    c = ps.add_parser("beacon", help="the final public-randomness contribution")
    c.add_argument("input", metavar="IN.ptau")
    c.add_argument("out", metavar="OUT.ptau")
    c.add_argument("beacon", metavar="BEACON_HEX")
    c.add_argument("iterations_exp", type=int, metavar="EXP", help="2^EXP SHA-256 iterations (10..63)")
    c.add_argument("--name", default="", help="name recorded in the file")
    c.set_defaults(func=_ptau_beacon)
    c = ps.add_parser("verify", help="verify a whole transcript")
    c.add_argument("input", metavar="IN.ptau")
    c.set_defaults(func=_ptau_verify)
    c = ps.add_parser("import", help="verify a ptau made elsewhere and write it")
    c.add_argument("input", metavar="IN.ptau")
    c.add_argument("out", metavar="OUT.ptau")
    c.add_argument("--prepare", action="store_true", help="add the phase-2 sections 12-15")
    c.set_defaults(func=_ptau_import)
    c = ps.add_parser("export", help="the powers as JSON")
    c.add_argument("input", metavar="IN.ptau")
    c.add_argument("out", metavar="OUT.json")
    c.add_argument("--powers", type=int, help="only the first N powers of tauG1")
    c.set_defaults(func=_ptau_export)

    g = sub.add_parser("groth16", help="Groth16 keys from a ptau (phase 2), prove and verify")
    gs = g.add_subparsers(dest="groth16_command", required=True)
    c = gs.add_parser("setup", help="the initial .zkey for a circuit (snarkjs groth16 setup)")
    c.add_argument("r1cs", metavar="CIRCUIT.r1cs")
    c.add_argument("ptau", metavar="IN.ptau")
    c.add_argument("out", metavar="OUT.zkey")
    c.set_defaults(func=_g16_setup)
    c = gs.add_parser("contribute", help="add a delta contribution")
    c.add_argument("input", metavar="IN.zkey")
    c.add_argument("out", metavar="OUT.zkey")
    c.add_argument("--name", default="", help="contributor name recorded in the file")
    c.set_defaults(func=_g16_contribute)
    c = gs.add_parser("beacon", help="the final public-randomness delta contribution")
    c.add_argument("input", metavar="IN.zkey")
    c.add_argument("out", metavar="OUT.zkey")
    c.add_argument("beacon", metavar="BEACON_HEX")
    c.add_argument("iterations_exp", type=int, metavar="EXP")
    c.add_argument("--name", default="")
    c.set_defaults(func=_g16_beacon)
    c = gs.add_parser("verify-setup", help="check a .zkey against its circuit and ptau")
    c.add_argument("r1cs", metavar="CIRCUIT.r1cs")
    c.add_argument("ptau", metavar="IN.ptau")
    c.add_argument("zkey", metavar="KEY.zkey")
    c.set_defaults(func=_g16_verify_setup)
    c = gs.add_parser("prove", help="prove; writes proof.json and public.json as snarkjs does")
    c.add_argument("r1cs", metavar="CIRCUIT.r1cs")
    c.add_argument("zkey", metavar="KEY.zkey")
    c.add_argument("wtns", metavar="WITNESS.wtns")
    c.add_argument("proof", metavar="PROOF.json")
    c.add_argument("public", metavar="PUBLIC.json")
    c.add_argument("--sym", metavar="CIRCUIT.sym", help="name the signals of an unsatisfied constraint")
    c.add_argument("--insecure-single-party-setup", action="store_true",
                   help="accept a zkagg key file without a transcript (tests and demos only)")
    c.set_defaults(func=_g16_prove)
    c = gs.add_parser("verify", help="verify proof.json for public.json (snarkjs groth16 verify)")
    c.add_argument("vk", metavar="VK.json|KEY.zkey")
    c.add_argument("public", metavar="PUBLIC.json")
    c.add_argument("proof", metavar="PROOF.json")
    c.set_defaults(func=_g16_verify)
    c = gs.add_parser("export-vk", help="the verification_key.json of a .zkey")
    c.add_argument("zkey", metavar="KEY.zkey")
    c.add_argument("out", metavar="VK.json")
    c.set_defaults(func=_g16_export_vk)

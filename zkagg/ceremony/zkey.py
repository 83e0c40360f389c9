"""The snarkjs Groth16 `.zkey` file, read and written byte for byte.

Sections (little-endian, points LEM as in .ptau): 1 protocol (1 = Groth16); 2 header (n8q, q,
n8r, r, nVars, nPublic, domainSize, [α]_1, [β]_1, [β]_2, [γ]_2, [δ]_1, [δ]_2); 3 IC; 4 the A and
B coefficients (count, then matrix, constraint, signal as u32 and the value times 2^512 mod r);
5 A, 6 B in G1, 7 B in G2 (nVars each); 8 C, the private-wire query over δ; 9 H: the odd points
of the 2n-point Lagrange basis over δ, [L_{2i+1}(τ)/δ]_1 (snarkjs evaluates A·B - C on that coset
when proving); 10 the phase-2 transcript (the circuit hash csHash, then per contribution [δ]_1
after it, the key s, s·x, [x]·H(transcript), the transcript hash, type and parameters).
Read from the snarkjs 0.7.6 sources (zkey_utils.js, zkey_new.js); the code is zkagg's.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from ..bn254 import FQ_MODULUS, FR_MODULUS, G1Array, G1Point, G2Array, G2Point
from ..bn254.backend import Group
from ..errors import InputError, ZkaggError
from ..groth16.keys import DegenerateSetupError, ProvingKey, VerifyingKey, check_proving_key
from .encoding import lem_to_limbs, limbs_to_lem, point_size
from .ptau import params_bytes, parse_params, read_sections, write_atomic

MAGIC = b"zkey"
GROTH16 = 1
G1_SIZE, G2_SIZE = point_size("g1"), point_size("g2")
NEW_ORDER = (1, 2, 4, 3, 9, 8, 5, 6, 7, 10)  # the order `zkey new` writes
CONTRIBUTE_ORDER = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)  # the order `zkey contribute` writes
COEF_SIZE = 12 + 32


class ZkeyFormatError(InputError):
    """A .zkey file is malformed: wrong magic, protocol, field, section layout or size, bad point."""


@dataclass(frozen=True)
class ZkeyContribution:
    delta_after: G1Point
    g1_s: G1Point
    g1_sx: G1Point
    g2_spx: G2Point
    transcript: bytes
    name: str = ""
    beacon_hash: bytes | None = None
    beacon_iterations_exp: int = 0

    @property
    def is_beacon(self) -> bool:
        return self.beacon_hash is not None

    def pubkey_bytes(self) -> bytes:
        """What the transcript hash absorbs for this contribution (uncompressed points)."""
        return (self.delta_after.to_bytes() + self.g1_s.to_bytes() + self.g1_sx.to_bytes()
                + self.g2_spx.to_bytes() + self.transcript)


@dataclass(frozen=True)
class Zkey:
    n_vars: int
    n_public: int
    domain_size: int
    alpha_g1: G1Point
    beta_g1: G1Point
    beta_g2: G2Point
    gamma_g2: G2Point
    delta_g1: G1Point
    delta_g2: G2Point
    ic: G1Array
    coeffs: bytes  # section 4 as stored (count + entries)
    a: G1Array
    b1: G1Array
    b2: G2Array
    c: G1Array
    h: G1Array
    cs_hash: bytes
    contributions: tuple[ZkeyContribution, ...] = ()
    order: tuple[int, ...] = CONTRIBUTE_ORDER

    def verifying_key(self) -> VerifyingKey:
        return VerifyingKey(self.alpha_g1, self.beta_g2, self.gamma_g2, self.delta_g2, tuple(self.ic))

    def proving_key(self) -> ProvingKey:
        """zkagg's proving key with the same points (its H query in the odd-coset Lagrange form);
        refused if degenerate (e.g. δ = 1: no phase-2 contribution yet)."""
        pk = ProvingKey(self.verifying_key(), self.beta_g1, self.delta_g1, self.a, self.b1, self.b2, self.c,
                        self.h, self.domain_size, h_basis="odd_lagrange")
        check_proving_key(pk, "zkey")
        return pk


def _fail(what: str, msg: str) -> ZkeyFormatError:
    return ZkeyFormatError(f"{what}: {msg}")


def _arr(data: memoryview, group: Group, what: str, name: str) -> G1Array | G2Array:
    limbs = lem_to_limbs(data, group, f"{what}: {name}")
    return G1Array(limbs) if group == "g1" else G2Array(limbs)


def _g1s(data: memoryview, what: str, name: str) -> G1Array:
    arr = _arr(data, "g1", what, name)
    assert isinstance(arr, G1Array)
    return arr


def _mpc(data: memoryview, what: str) -> tuple[bytes, tuple[ZkeyContribution, ...]]:
    pos = 0

    def take(n: int) -> memoryview:
        nonlocal pos
        if pos + n > len(data):
            raise _fail(what, "the contributions section is truncated")
        out = data[pos : pos + n]
        pos += n
        return out

    cs_hash = bytes(take(64))
    (count,) = struct.unpack("<I", take(4))
    out = []
    for i in range(count):
        d, s, sx = (_g1s(take(G1_SIZE), what, f"contribution {i + 1}")[0] for _ in range(3))
        spx = _arr(take(G2_SIZE), "g2", what, f"contribution {i + 1}")[0]
        assert isinstance(spx, G2Point)
        transcript = bytes(take(64))
        kind, plen = struct.unpack("<II", take(8))
        parsed = parse_params(bytes(take(plen)))
        if parsed is None:
            raise _fail(what, "bad contribution parameter list")
        name, beacon_hash, exp = parsed
        if kind not in (0, 1) or (kind == 1) != (beacon_hash is not None):
            raise _fail(what, f"contribution {i + 1}: type {kind} does not match its parameters")
        out.append(ZkeyContribution(d, s, sx, spx, transcript, name, beacon_hash, exp))
    if pos != len(data):
        raise _fail(what, f"the contributions section has {len(data) - pos} unexplained bytes")
    return cs_hash, tuple(out)


def parse(data: bytes | memoryview, what: str = "zkey") -> Zkey:
    """A Zkey from the bytes of a Groth16 .zkey; ZkeyFormatError / DegenerateSetupError if bad."""
    view = memoryview(data)
    try:
        table = read_sections(view, what, MAGIC)
        kinds = tuple(k for k, _, _ in table)
        if sorted(kinds) != list(range(1, 11)):
            raise _fail(what, f"sections {list(kinds)} are not 1-10, each once")
        sec = {k: view[o : o + n] for k, o, n in table}
        if len(sec[1]) != 4 or struct.unpack("<I", sec[1])[0] != GROTH16:
            raise _fail(what, "not a Groth16 zkey (protocol section)")
        h = sec[2]
        fixed = 4 + 32 + 4 + 32 + 12
        if len(h) != fixed + 3 * G1_SIZE + 3 * G2_SIZE:
            raise _fail(what, f"header section is {len(h)} bytes, not {fixed + 3 * G1_SIZE + 3 * G2_SIZE}")
        n8q, n8r = struct.unpack_from("<I", h, 0)[0], struct.unpack_from("<I", h, 36)[0]
        q, r = int.from_bytes(h[4:36], "little"), int.from_bytes(h[40:72], "little")
        if (n8q, n8r, q, r) != (32, 32, FQ_MODULUS, FR_MODULUS):
            raise _fail(what, "wrong field: the key is not over BN254")
        n_vars, n_public, domain = struct.unpack_from("<III", h, 72)
        if domain < 2 or domain & (domain - 1) or domain > 1 << 28 or not 0 <= n_public < n_vars:
            raise _fail(what, f"inconsistent sizes (nVars {n_vars}, nPublic {n_public}, domain {domain})")
        pos = fixed
        pts: list[G1Point | G2Point] = []
        for g in ("g1", "g1", "g2", "g2", "g1", "g2"):
            size = point_size(g)  # type: ignore[arg-type]
            pts.append(_arr(h[pos : pos + size], g, what, "header")[0])  # type: ignore[arg-type]
            pos += size
        expect = {3: (n_public + 1) * G1_SIZE, 5: n_vars * G1_SIZE, 6: n_vars * G1_SIZE, 7: n_vars * G2_SIZE,
                  8: (n_vars - n_public - 1) * G1_SIZE, 9: domain * G1_SIZE}
        for k, size in expect.items():
            if len(sec[k]) != size:
                raise _fail(what, f"section {k} is {len(sec[k])} bytes; the header needs {size}")
        coeffs = bytes(sec[4])
        if len(coeffs) < 4 or len(coeffs) != 4 + struct.unpack_from("<I", coeffs)[0] * COEF_SIZE:
            raise _fail(what, "the coefficients section size does not match its count")
        cs_hash, contributions = _mpc(sec[10], what)
        b2 = _arr(sec[7], "g2", what, "B2")
        assert isinstance(b2, G2Array)
        alpha1, beta1, beta2, gamma2, delta1, delta2 = pts
        assert isinstance(alpha1, G1Point) and isinstance(beta1, G1Point) and isinstance(delta1, G1Point)
        assert isinstance(beta2, G2Point) and isinstance(gamma2, G2Point) and isinstance(delta2, G2Point)
        zk = Zkey(n_vars, n_public, domain, alpha1, beta1, beta2, gamma2, delta1, delta2,
                  ic=_g1s(sec[3], what, "IC"), coeffs=coeffs, a=_g1s(sec[5], what, "A"),
                  b1=_g1s(sec[6], what, "B1"), b2=b2, c=_g1s(sec[8], what, "C"), h=_g1s(sec[9], what, "H"),
                  cs_hash=cs_hash, contributions=contributions, order=kinds)
    except ZkaggError as err:
        if isinstance(err, (ZkeyFormatError, DegenerateSetupError)):
            raise
        raise ZkeyFormatError(f"{what}: {err}") from err
    except struct.error as err:
        raise ZkeyFormatError(f"{what}: malformed ({err})") from err
    return zk


def load(path: str | os.PathLike[str]) -> Zkey:
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise ZkeyFormatError(f"{path}: cannot read ({err.strerror})") from err
    return parse(data, str(path))


def _lem(points: G1Array | G2Array) -> bytes:
    return limbs_to_lem(points.limbs)


def to_bytes(zk: Zkey) -> bytes:
    g1 = lambda p: _lem(G1Array.from_points([p]))  # noqa: E731
    g2 = lambda p: _lem(G2Array.from_points([p]))  # noqa: E731
    header = (struct.pack("<I", 32) + FQ_MODULUS.to_bytes(32, "little") + struct.pack("<I", 32)
              + FR_MODULUS.to_bytes(32, "little") + struct.pack("<III", zk.n_vars, zk.n_public, zk.domain_size)
              + g1(zk.alpha_g1) + g1(zk.beta_g1) + g2(zk.beta_g2) + g2(zk.gamma_g2) + g1(zk.delta_g1)
              + g2(zk.delta_g2))
    mpc = zk.cs_hash + struct.pack("<I", len(zk.contributions))
    for c in zk.contributions:
        params = params_bytes(c.name, c.beacon_hash, c.beacon_iterations_exp)
        mpc += (g1(c.delta_after) + g1(c.g1_s) + g1(c.g1_sx) + g2(c.g2_spx) + c.transcript
                + struct.pack("<II", int(c.is_beacon), len(params)) + params)
    bodies = {1: struct.pack("<I", GROTH16), 2: header, 3: _lem(zk.ic), 4: zk.coeffs, 5: _lem(zk.a),
              6: _lem(zk.b1), 7: _lem(zk.b2), 8: _lem(zk.c), 9: _lem(zk.h), 10: mpc}
    out = MAGIC + struct.pack("<II", 1, len(bodies))
    return out + b"".join(struct.pack("<IQ", k, len(bodies[k])) + bodies[k] for k in zk.order)


def save(zk: Zkey, path: str | os.PathLike[str]) -> None:
    write_atomic(path, to_bytes(zk))

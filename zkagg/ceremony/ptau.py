"""The snarkjs `.ptau` file (powers of tau), read and written byte for byte.

Layout (little-endian): "ptau", version 1, the section count, then sections (u32 type, u64 size,
data): 1 header (n8 = 32, q, power, ceremony power), 2 tauG1 [τ^i]_1 for i < 2^(p+1) - 1,
3 tauG2 [τ^i]_2, 4 alphaTauG1 [ατ^i]_1, 5 betaTauG1 [βτ^i]_1 (2^p each), 6 betaG2 [β]_2,
7 the contributions; a file prepared for phase 2 adds 12-15, which snarkjs 0.7 fills with the
prefixes of sections 2-5 for every power 0..p (and p + 1 for tauG1, its last point zero).
Points are LEM (see encoding.py). Read from the snarkjs 0.7.6 sources (powersoftau_new.js,
powersoftau_utils.js, powersoftau_preparephase2.js); the code is zkagg's.

Everything is checked where it enters: the header, each section present once, in order and of
the exact size, every point canonical, on the curve and in the subgroup, and no material that
makes τ degenerate (a point at infinity, or a power τ^k = 1 for 0 < k < 2^(p+1) - 1, which is
τ in the domain of that size or in a small subgroup).
"""

from __future__ import annotations

import os
import struct
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..bn254 import FQ_MODULUS, G1Array, G1Point, G2Array, G2Point
from ..bn254.backend import Group
from ..bn254.limbs import Limbs
from ..errors import InputError, ZkaggError
from ..groth16.batch_check import g2_array_checked
from ..groth16.keys import DegenerateSetupError
from .blake2b import PARTIAL_SIZE, Blake2b512
from .contribution_key import ContributionKey, FactorProof
from .encoding import lem_to_limbs, limbs_to_lem, point_size

MAGIC = b"ptau"
MAX_POWER = 28  # the largest domain BN254's F_r supports
G1_SIZE, G2_SIZE = point_size("g1"), point_size("g2")
_KEY_SIZE = 6 * G1_SIZE + 3 * G2_SIZE


class PtauFormatError(InputError):
    """A .ptau file is malformed: wrong magic, header, section layout or size, or a bad point."""


@dataclass(frozen=True)
class PtauContribution:
    """One contribution record (section 7): the new [τ]_1, [τ]_2, [α]_1, [β]_1, [β]_2, the
    contributor's key, the hash midstate, the next challenge, and beacon parameters if any."""

    tau_g1: G1Point
    tau_g2: G2Point
    alpha_g1: G1Point
    beta_g1: G1Point
    beta_g2: G2Point
    key: ContributionKey
    partial_hash: bytes
    next_challenge: bytes
    name: str = ""
    beacon_hash: bytes | None = None
    beacon_iterations_exp: int = 0

    @property
    def is_beacon(self) -> bool:
        return self.beacon_hash is not None

    @property
    def response_hash(self) -> bytes:
        return Blake2b512.from_partial_state(self.partial_hash).update(self.key.to_uncompressed()).digest()


@dataclass(frozen=True)
class Prepared:
    """Sections 12-15: for every k = 0..power (and power + 1 for tauG1) the Lagrange basis of
    the first 2^k powers, blocks concatenated (the last tauG1 block pads τ^(2^(p+1)-1) with
    infinity)."""

    tau_g1: G1Array
    tau_g2: G2Array
    alpha_tau_g1: G1Array
    beta_tau_g1: G1Array

    def block(self, name: str, k: int) -> G1Array | G2Array:
        arr: G1Array | G2Array = getattr(self, name)
        return arr[(1 << k) - 1 : (1 << (k + 1)) - 1]


@dataclass(frozen=True)
class Ptau:
    """A loaded powers-of-tau file. `tau_g1` has 2^(power+1) - 1 points; the other arrays 2^power."""

    power: int
    tau_g1: G1Array
    tau_g2: G2Array
    alpha_tau_g1: G1Array
    beta_tau_g1: G1Array
    beta_g2: G2Point
    contributions: tuple[PtauContribution, ...] = ()
    ceremony_power: int = 0  # 0: same as power
    prepared: Prepared | None = None  # sections 12-15 (snarkjs's `prepare phase2`)

    def __post_init__(self) -> None:
        if self.ceremony_power == 0:
            object.__setattr__(self, "ceremony_power", self.power)


# ---- low-level section access ----

def _fail(path: str, msg: str) -> PtauFormatError:
    return PtauFormatError(f"{path}: {msg}")


def read_sections(data: bytes | memoryview, what: str, magic: bytes) -> list[tuple[int, int, int]]:
    """[(type, offset, size)] of a snarkjs binary file (shared with .zkey/.r1cs/.wtns readers)."""
    if len(data) < 12 or bytes(data[:4]) != magic:
        raise _fail(what, f"not a {magic.decode()} file (bad magic)")
    version, n = struct.unpack_from("<II", data, 4)
    if version != 1:
        raise _fail(what, f"unsupported {magic.decode()} version {version}")
    pos, out = 12, []
    for _ in range(n):
        if pos + 12 > len(data):
            raise _fail(what, f"truncated section table at byte {pos}")
        kind, size = struct.unpack_from("<IQ", data, pos)
        pos += 12
        if pos + size > len(data):
            raise _fail(what, f"section {kind} is truncated ({size} bytes announced, {len(data) - pos} left)")
        out.append((kind, pos, size))
        pos += size
    if pos != len(data):
        raise _fail(what, f"{len(data) - pos} trailing bytes after the last section")
    return out


def _expect_layout(sections: list[tuple[int, int, int]], what: str) -> dict[int, tuple[int, int]]:
    kinds = [k for k, _, _ in sections]
    if kinds not in ([1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15]):
        raise _fail(what, f"sections {kinds} are not 1-7 (and 12-15) in order, each once")
    return {k: (off, size) for k, off, size in sections}


def _header(data: memoryview, off: int, size: int, what: str) -> tuple[int, int]:
    if size != 4 + 32 + 8:
        raise _fail(what, f"header is {size} bytes, not 44")
    (n8,) = struct.unpack_from("<I", data, off)
    q = int.from_bytes(data[off + 4 : off + 36], "little")
    power, ceremony_power = struct.unpack_from("<II", data, off + 36)
    if n8 != 32 or q != FQ_MODULUS:
        raise _fail(what, "wrong field: the file is not over BN254 (n8 = 32 and its base field q)")
    if not 1 <= power <= MAX_POWER or not power <= ceremony_power <= MAX_POWER:
        raise _fail(what, f"power {power} (ceremony power {ceremony_power}) outside [1, {MAX_POWER}]")
    return power, ceremony_power


def _points(data: memoryview, group: Group, what: str, name: str) -> Limbs:
    limbs = lem_to_limbs(data, group, f"{what}: {name}")
    if group == "g1":
        return G1Array(limbs).limbs  # canonical, on the curve (cofactor 1)
    return g2_array_checked(limbs, f"{what}: {name}").limbs


def _refuse_degenerate(tau_g1: Limbs, others: dict[str, Limbs], what: str) -> None:
    g = G1Array.from_points([G1Point.generator()]).limbs[0]
    if not np.array_equal(tau_g1[0], g):
        raise DegenerateSetupError(f"{what}: tauG1[0] is not the generator")
    # tau^k = 1 shows as [tau^k] = G, and tau^(2k) = 1 with tau^k = -1 as [tau^k] = -G: this
    # covers every domain up to 2^(p+2), which includes the largest one a phase 2 uses
    neg_g = G1Array.from_points([-G1Point.generator()]).limbs[0]
    for target, factor in ((g, 1), (neg_g, 2)):
        hits = np.flatnonzero((tau_g1[1:] == target).all(axis=1))
        if len(hits):
            k = (int(hits[0]) + 1) * factor
            raise DegenerateSetupError(f"{what}: tau^{k} = 1 (tau is in a small subgroup or the evaluation domain)")
    for name, limbs in {"tauG1": tau_g1, **others}.items():
        inf = np.flatnonzero(~limbs.any(axis=1))
        if len(inf):
            raise DegenerateSetupError(f"{what}: {name}[{int(inf[0])}] is the point at infinity")


def _g1(b: memoryview) -> G1Point:
    return G1Array(lem_to_limbs(b, "g1", "point"))[0]


def _g2(b: memoryview) -> G2Point:
    return G2Array(lem_to_limbs(b, "g2", "point"))[0]


def _contributions(data: memoryview, off: int, size: int, what: str) -> tuple[PtauContribution, ...]:
    end = off + size

    def take(n: int) -> memoryview:
        nonlocal off
        if off + n > end:
            raise _fail(what, "contributions section is truncated")
        out = data[off : off + n]
        off += n
        return out

    try:
        (count,) = struct.unpack("<I", take(4))
        out = []
        for i in range(count):
            tau_g1, tau_g2 = _g1(take(G1_SIZE)), _g2(take(G2_SIZE))
            alpha_g1, beta_g1, beta_g2 = _g1(take(G1_SIZE)), _g1(take(G1_SIZE)), _g2(take(G2_SIZE))
            k1 = [_g1(take(G1_SIZE)) for _ in range(6)]
            k2 = [_g2(take(G2_SIZE)) for _ in range(3)]
            key = ContributionKey(FactorProof(k1[0], k1[1], k2[0]), FactorProof(k1[2], k1[3], k2[1]),
                                  FactorProof(k1[4], k1[5], k2[2]))
            partial, challenge = bytes(take(PARTIAL_SIZE)), bytes(take(64))
            kind, plen = struct.unpack("<II", take(8))
            parsed = parse_params(bytes(take(plen)))
            if parsed is None:
                raise _fail(what, f"contribution {i + 1}: bad parameter list")
            name, beacon_hash, exp = parsed
            if kind not in (0, 1) or (kind == 1) != (beacon_hash is not None):
                raise _fail(what, f"contribution {i + 1}: type {kind} does not match its parameters")
            out.append(PtauContribution(tau_g1, tau_g2, alpha_g1, beta_g1, beta_g2, key, partial, challenge,
                                        name, beacon_hash, exp))
    except struct.error as err:
        raise _fail(what, f"contributions section is malformed ({err})") from err
    if off != end:
        raise _fail(what, f"contributions section has {end - off} unexplained bytes")
    return tuple(out)


def _source_blocks(ptau: Ptau, name: str) -> list[G1Array | G2Array]:
    src: G1Array | G2Array = getattr(ptau, name)
    blocks = [src[: 1 << k] for k in range(ptau.power + 1)]
    if name == "tau_g1":  # the 2^(p+1) block: every power there is, padded with infinity
        pad = np.zeros((1, src.limbs.shape[1]), dtype=np.uint64)
        blocks.append(type(src)._trusted(np.concatenate([src.limbs, pad])))
    return blocks


_PREPARED: tuple[tuple[str, int, Group], ...] = (("tau_g1", 12, "g1"), ("tau_g2", 13, "g2"), ("alpha_tau_g1", 14, "g1"), ("beta_tau_g1", 15, "g1"))


def prepare_phase2(ptau: Ptau) -> Ptau:
    """The same ptau with sections 12-15 computed (group inverse DFTs; slow at large powers)."""
    from .lagrange import group_ifft

    parts: list[Any] = []
    for name, _, _ in _PREPARED:
        blocks: list[Any] = [group_ifft(b) for b in _source_blocks(ptau, name)]  # type: ignore[type-var]
        parts.append(type(blocks[0])._trusted(np.concatenate([b.limbs for b in blocks])))
    return replace(ptau, prepared=Prepared(*parts))


def check_prepared(ptau: Ptau, what: str = "ptau") -> None:
    """PtauFormatError unless every block of sections 12-15 is the Lagrange basis of its powers
    (one random combination per block, see lagrange.check_lagrange)."""
    from .lagrange import check_lagrange

    if ptau.prepared is None:
        return
    for name, sec, _ in _PREPARED:
        for k, src in enumerate(_source_blocks(ptau, name)):
            if not check_lagrange(src, ptau.prepared.block(name, k)):  # type: ignore[type-var]
                raise _fail(what, f"section {sec}, block 2^{k}, is not the Lagrange basis of its powers")


def _is_initial(raw: dict[str, Limbs]) -> bool:
    """Every point is its group's generator: a fresh `new` file, which only `contribute` takes."""
    g1 = G1Array.from_points([G1Point.generator()]).limbs[0]
    g2 = G2Array.from_points([G2Point.generator()]).limbs[0]
    return all(bool((v == (g1 if v.shape[1] == 8 else g2)).all()) for v in raw.values())


def parse(data: bytes | memoryview, what: str = "ptau", *, initial_ok: bool = False) -> Ptau:
    """A Ptau from the bytes of a .ptau file; PtauFormatError / DegenerateSetupError if bad.
    `initial_ok`: also accept a fresh, uncontributed file (τ = α = β = 1), for contributing to."""
    view = memoryview(data)
    try:
        sec = _expect_layout(read_sections(view, what, MAGIC), what)
        power, ceremony_power = _header(view, *sec[1], what)
        n1, n = (1 << (power + 1)) - 1, 1 << power
        sizes = {2: n1 * G1_SIZE, 3: n * G2_SIZE, 4: n * G1_SIZE, 5: n * G1_SIZE, 6: G2_SIZE}
        for k, size in sizes.items():
            if sec[k][1] != size:
                raise _fail(what, f"section {k} is {sec[k][1]} bytes; power {power} needs {size}")

        def body(k: int) -> memoryview:
            off, size = sec[k]
            return view[off : off + size]

        # cheap degeneracy checks first, then the full curve and subgroup checks
        layout: tuple[tuple[int, str, Group], ...] = (
            (2, "tauG1", "g1"), (3, "tauG2", "g2"), (4, "alphaTauG1", "g1"), (5, "betaTauG1", "g1"), (6, "betaG2", "g2"))
        raw = {name: lem_to_limbs(body(k), g, f"{what}: {name}") for k, name, g in layout}
        tau_g1 = G1Array(raw["tauG1"])
        tau_g2 = g2_array_checked(raw["tauG2"], f"{what}: tauG2")  # batched subgroup check
        alpha, beta = G1Array(raw["alphaTauG1"]), G1Array(raw["betaTauG1"])
        beta_g2 = G2Array(raw["betaG2"])[0]
        contributions = _contributions(view, *sec[7], what)
        prepared = None
        if 12 in sec:
            arrays = []
            for name, k, g in _PREPARED:
                n_pts = (1 << (power + (2 if k == 12 else 1))) - 1
                if sec[k][1] != n_pts * point_size(g):
                    raise _fail(what, f"section {k} is {sec[k][1]} bytes; power {power} needs {n_pts * point_size(g)}")
                arrays.append(_points(body(k), g, what, name))
            prepared = Prepared(G1Array._trusted(arrays[0]), G2Array._trusted(arrays[1]),
                                G1Array._trusted(arrays[2]), G1Array._trusted(arrays[3]))
        result = Ptau(power, tau_g1, tau_g2, alpha, beta, beta_g2, contributions, ceremony_power, prepared)
        if initial_ok and not contributions and _is_initial(raw):
            return result
        _refuse_degenerate(raw["tauG1"], {k: v for k, v in raw.items() if k != "tauG1"}, what)
        check_prepared(result, what)
    except ZkaggError as err:
        if isinstance(err, (PtauFormatError, DegenerateSetupError)):
            raise
        raise PtauFormatError(f"{what}: {err}") from err
    return result


def load(path: str | os.PathLike[str], *, initial_ok: bool = False) -> Ptau:
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise PtauFormatError(f"{path}: cannot read ({err.strerror})") from err
    return parse(data, str(path), initial_ok=initial_ok)


def read_tau_g1_prefix(path: str | os.PathLike[str], n: int) -> G1Array:
    """The first n points [τ^i]_1 without reading the rest of the file (checked points; the
    file's consistency is `phase1.verify`'s job)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != MAGIC:
                raise _fail(str(path), "not a ptau file (bad magic)")
            (count,) = struct.unpack_from("<I", head, 8)
            power = None
            for _ in range(count):
                hdr = f.read(12)
                if len(hdr) < 12:
                    raise _fail(str(path), "truncated section table")
                kind, size = struct.unpack("<IQ", hdr)
                if kind == 1:
                    power, _ = _header(memoryview(f.read(size)), 0, size, str(path))
                    continue
                if kind == 2:
                    if power is None:
                        raise _fail(str(path), "tauG1 comes before the header")
                    if not 0 < n <= (1 << (power + 1)) - 1:
                        raise _fail(str(path), f"asked for {n} powers; the file has {(1 << (power + 1)) - 1}")
                    data = f.read(n * G1_SIZE)
                    if len(data) != n * G1_SIZE:
                        raise _fail(str(path), "tauG1 is truncated")
                    limbs = lem_to_limbs(data, "g1", f"{path}: tauG1")
                    _refuse_degenerate(limbs, {}, str(path))
                    return G1Array(limbs)
                f.seek(size, 1)
    except OSError as err:
        raise PtauFormatError(f"{path}: cannot read ({err.strerror})") from err
    raise _fail(str(path), "no tauG1 section")


# ---- writing ----

def parse_params(params: bytes) -> tuple[str, bytes | None, int] | None:
    """A contribution's snarkjs parameter list (type 1: name, 2: beacon iterations exponent,
    3: beacon hash, in increasing type order) as (name, beacon hash, exponent); None if malformed.
    The same list ends a .ptau and a .zkey contribution."""
    name, beacon_hash, exp, last, p = "", None, 0, 0, 0
    while p < len(params):
        t = params[p]
        if t <= last or t > 3 or p + 2 > len(params):
            return None
        last = t
        if t == 2:
            exp, p = params[p + 1], p + 2
            continue
        ln = params[p + 1]
        if p + 2 + ln > len(params):
            return None
        val = params[p + 2 : p + 2 + ln]
        if t == 1:
            name = val.decode("utf-8", errors="replace")
        else:
            beacon_hash = val
        p += 2 + ln
    return name, beacon_hash, exp


def params_bytes(name: str, beacon_hash: bytes | None, exp: int) -> bytes:
    """The parameter list `parse_params` reads (the name cut to 64 characters, as snarkjs does)."""
    out = b""
    if name:
        raw = name[:64].encode("utf-8")
        out += bytes([1, len(raw)]) + raw
    if beacon_hash is not None:
        out += bytes([2, exp, 3, len(beacon_hash)]) + beacon_hash
    return out


def _section(kind: int, body: bytes) -> bytes:
    return struct.pack("<IQ", kind, len(body)) + body


def _contribution_bytes(c: PtauContribution) -> bytes:
    g1 = lambda p: limbs_to_lem(G1Array.from_points([p]).limbs)  # noqa: E731
    g2 = lambda p: limbs_to_lem(G2Array.from_points([p]).limbs)  # noqa: E731
    k = c.key
    parts = [g1(c.tau_g1), g2(c.tau_g2), g1(c.alpha_g1), g1(c.beta_g1), g2(c.beta_g2),
             *(g1(p) for p in (k.tau.g1_s, k.tau.g1_sx, k.alpha.g1_s, k.alpha.g1_sx, k.beta.g1_s, k.beta.g1_sx)),
             *(g2(p) for p in (k.tau.g2_spx, k.alpha.g2_spx, k.beta.g2_spx)),
             c.partial_hash, c.next_challenge, struct.pack("<I", int(c.is_beacon))]
    params = params_bytes(c.name, c.beacon_hash, c.beacon_iterations_exp)
    return b"".join(parts) + struct.pack("<I", len(params)) + params


def to_bytes(ptau: Ptau) -> bytes:
    header = struct.pack("<I", 32) + FQ_MODULUS.to_bytes(32, "little") + struct.pack(
        "<II", ptau.power, ptau.ceremony_power)
    bodies = {1: header, 2: limbs_to_lem(ptau.tau_g1.limbs), 3: limbs_to_lem(ptau.tau_g2.limbs),
              4: limbs_to_lem(ptau.alpha_tau_g1.limbs), 5: limbs_to_lem(ptau.beta_tau_g1.limbs),
              6: limbs_to_lem(G2Array.from_points([ptau.beta_g2]).limbs),
              7: struct.pack("<I", len(ptau.contributions)) + b"".join(map(_contribution_bytes, ptau.contributions))}
    if ptau.prepared is not None:
        for name, k, _ in _PREPARED:
            bodies[k] = limbs_to_lem(getattr(ptau.prepared, name).limbs)
    out = MAGIC + struct.pack("<II", 1, len(bodies))
    return out + b"".join(_section(k, b) for k, b in bodies.items())


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write to a temporary file beside `path` and rename: never a half-written file."""
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as err:
        raise PtauFormatError(f"{path}: cannot write ({err.strerror})") from err


def save(ptau: Ptau, path: str | os.PathLike[str]) -> None:
    write_atomic(path, to_bytes(ptau))

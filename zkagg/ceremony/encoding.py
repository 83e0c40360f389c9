"""Point encodings of snarkjs ceremony files and hashes, to and from zkagg's limb arrays.

* LEM ("little-endian Montgomery", the .ptau/.zkey storage form): each F_q coordinate as x·2^256
  mod q in 32 little-endian bytes; G2 coordinates as c0 then c1; infinity is all zeros.
* Uncompressed (what the ceremony hashes absorb): big-endian canonical coordinates, G2 as c1
  then c0 (the EVM order); infinity is all zeros.
* Compressed (the response hash): the big-endian x with 0x80 set in the first byte when y is
  "negative" (y > (q-1)/2, for F_q2 judged on c1 unless it is 0) and 0x40 for infinity.

zkagg's limb arrays hold canonical coordinates as 4 little-endian uint64 limbs each, G2 as
(x.c0, x.c1, y.c0, y.c1), so LEM is the same layout after a Montgomery conversion.
"""

from __future__ import annotations

import numpy as np

from ..bn254 import FQ_MODULUS, native_module
from ..bn254.backend import POINT_LIMBS, Group
from ..bn254.field import first_not_below
from ..bn254.limbs import Limbs, ints_to_limbs, limbs_to_ints
from ..errors import LengthError, NonCanonicalError

Q = FQ_MODULUS
MONT_R = (1 << 256) % Q
MONT_R_INV = pow(MONT_R, -1, Q)
HALF_Q = (Q - 1) // 2


def point_size(group: Group) -> int:
    return POINT_LIMBS[group] * 8


def _mont(limbs: Limbs, to: bool) -> Limbs:
    """Montgomery conversion of every coordinate (native core, or Python ints on the reference
    backend)."""
    mod = native_module()
    out = np.empty_like(limbs)
    if mod is None:
        factor = MONT_R if to else MONT_R_INV
        vals = [v * factor % Q for v in limbs_to_ints(limbs)]
        return ints_to_limbs(vals, Q, "coordinates").reshape(limbs.shape)
    fn = mod.lib.zkagg_fq_to_mont if to else mod.lib.zkagg_fq_from_mont
    src = np.ascontiguousarray(limbs)
    fn(mod.ffi.from_buffer("uint64_t[]", out), mod.ffi.from_buffer("uint64_t[]", src), src.size // 4)
    return out


def lem_to_limbs(data: bytes | memoryview, group: Group, what: str) -> Limbs:
    """(n, width) canonical limbs from LEM bytes; NonCanonicalError if a stored coordinate is not
    below q (each residue has one stored form). Curve and subgroup checks are the caller's."""
    width = POINT_LIMBS[group]
    if len(data) % (width * 8):
        raise LengthError(f"{what}: {len(data)} bytes is not a whole number of {group.upper()} points")
    raw = np.frombuffer(data, dtype="<u8").astype(np.uint64).reshape(-1, width)
    bad = first_not_below(raw.reshape(-1, 4), Q)
    if bad >= 0:
        raise NonCanonicalError(f"{what}[{bad // (width // 4)}] has a coordinate >= q")
    return _mont(raw, to=False)


def limbs_to_lem(limbs: Limbs) -> bytes:
    return _mont(np.ascontiguousarray(limbs), to=True).astype("<u8").tobytes()


def _big_endian_coords(limbs: Limbs, group: Group) -> np.ndarray:
    """(n, coords, 32) big-endian canonical coordinates in the hash order (G2: c1 before c0)."""
    n = len(limbs)
    coords = np.ascontiguousarray(limbs).reshape(n, -1, 4)[:, :, ::-1].astype(">u8")
    out = coords.view(np.uint8).reshape(n, -1, 32)
    if group == "g2":
        out = out.reshape(n, 2, 2, 32)[:, :, ::-1, :].reshape(n, 4, 32)
    return out


def limbs_to_uncompressed(limbs: Limbs, group: Group) -> bytes:
    return np.ascontiguousarray(_big_endian_coords(limbs, group)).tobytes()


def _negative_y(limbs: Limbs, group: Group) -> np.ndarray:
    """Per point: y > (q-1)/2, judged on y.c1 for G2 unless y.c1 is zero."""
    n = len(limbs)
    coords = np.ascontiguousarray(limbs).reshape(n, -1, 4)
    half = np.array([(HALF_Q >> (64 * i)) & (2**64 - 1) for i in range(4)], dtype=np.uint64)

    def greater(c: np.ndarray) -> np.ndarray:  # c > HALF_Q, limb-wise from the top
        gt = np.zeros(len(c), dtype=bool)
        eq = np.ones(len(c), dtype=bool)
        for i in (3, 2, 1, 0):
            gt |= eq & (c[:, i] > half[i])
            eq &= c[:, i] == half[i]
        return gt

    if group == "g1":
        return greater(coords[:, 1])
    y0, y1 = coords[:, 2], coords[:, 3]
    return np.where(y1.any(axis=1), greater(y1), greater(y0))


def limbs_to_compressed(limbs: Limbs, group: Group) -> bytes:
    n = len(limbs)
    be = _big_endian_coords(limbs, group)
    x = np.ascontiguousarray(be[:, : be.shape[1] // 2].reshape(n, -1))
    x[:, 0] |= np.where(_negative_y(limbs, group), 0x80, 0).astype(np.uint8)
    infinity = ~np.ascontiguousarray(limbs).any(axis=1)
    x[infinity] = 0
    x[infinity, 0] = 0x40
    return x.tobytes()

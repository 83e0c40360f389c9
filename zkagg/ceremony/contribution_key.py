"""The per-contribution key of a snarkjs-compatible powers-of-tau ceremony.

A contributor with secret factors (tau, alpha, beta) publishes, for each factor x with its
personalization p (tau 0, alpha 1, beta 2): a random G1 point s, s·x, and [x]·H where
H = hash_to_g2(blake2b(p ‖ challenge ‖ s ‖ s·x)). e(s, [x]H) = e(s·x, H) proves knowledge of x
bound to the challenge (the previous contribution's hash), and the same H checks that the new
powers are the old ones times x. The format and the derivations follow snarkjs
(`keypair.js`, `misc.js` of snarkjs 0.7.6, and `chacha.js`, `wasm_curve.js` of ffjavascript),
so that snarkjs verifies zkagg's contributions and zkagg verifies snarkjs's; the code is zkagg's.

Derivation details that must match bit for bit: the random stream is ChaCha20 (20 rounds, the
8 seed words as the key, zero nonce and counter, block counter in word 12) read as 32-bit words;
a field element is four 64-bit draws (high word first) assembled little-endian, masked to the
modulus' bit length and redrawn while >= the modulus, and then *read as a Montgomery form*
(value·2^-256 mod p); a curve point draws x, then one bit choosing the sign of y, until x^3 + b
is a square; G2 points are multiplied by the cofactor 2q - r.

Secrets: the factors are sampled as Python ints (as every setup here is); every product of a
secret with a point runs in the native constant-time kernels (mul_secret).
"""

from __future__ import annotations

import hashlib
import secrets
import struct
from dataclasses import dataclass

from py_ecc import optimized_bn128 as ecc

from ..bn254 import FQ_MODULUS, FR_MODULUS, G1Point, G2Point
from ..bn254.curve import G2_B
from ..errors import InputError
from .blake2b import blake2b512
from .encoding import HALF_Q

Q, R = FQ_MODULUS, FR_MODULUS
G2_COFACTOR = 2 * Q - R
_M32 = 0xFFFFFFFF
Fq2 = tuple[int, int]


class ChaCha:
    """snarkjs's ChaCha20 word stream seeded with eight 32-bit words."""

    def __init__(self, seed: list[int]) -> None:
        if len(seed) != 8 or not all(0 <= w <= _M32 for w in seed):
            raise InputError("a ChaCha seed is eight 32-bit words")
        self._state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574, *seed, 0, 0, 0, 0]
        self._out: list[int] = []
        self._idx = 16

    @classmethod
    def from_bytes_be(cls, seed: bytes) -> ChaCha:
        return cls(list(struct.unpack(">8I", seed[:32])))

    def _block(self) -> None:
        x = list(self._state)

        def qr(a: int, b: int, c: int, d: int) -> None:
            for (p, q_, r), rot in (((a, b, d), 16), ((c, d, b), 12), ((a, b, d), 8), ((c, d, b), 7)):
                x[p] = (x[p] + x[q_]) & _M32
                t = x[r] ^ x[p]
                x[r] = ((t << rot) | (t >> (32 - rot))) & _M32

        for _ in range(10):
            qr(0, 4, 8, 12)
            qr(1, 5, 9, 13)
            qr(2, 6, 10, 14)
            qr(3, 7, 11, 15)
            qr(0, 5, 10, 15)
            qr(1, 6, 11, 12)
            qr(2, 7, 8, 13)
            qr(3, 4, 9, 14)
        self._out = [(x[i] + self._state[i]) & _M32 for i in range(16)]
        self._idx = 0
        for i in range(12, 16):  # 128-bit block counter
            self._state[i] = (self._state[i] + 1) & _M32
            if self._state[i]:
                break

    def next_u32(self) -> int:
        if self._idx == 16:
            self._block()
        w = self._out[self._idx]
        self._idx += 1
        return w

    def next_u64(self) -> int:
        hi = self.next_u32()
        return hi << 32 | self.next_u32()

    def next_bool(self) -> bool:
        return bool(self.next_u32() & 1)


def field_from_rng(rng: ChaCha, modulus: int) -> int:
    mask = (1 << modulus.bit_length()) - 1
    while True:
        v = sum(rng.next_u64() << (64 * i) for i in range(4)) & mask
        if v < modulus:
            return v * pow(2**256 % modulus, -1, modulus) % modulus  # stored as a Montgomery form


# ---- F_q2 helpers for the hash to G2 (public data only) ----

def _f2_mul(a: Fq2, b: Fq2) -> Fq2:
    return ((a[0] * b[0] - a[1] * b[1]) % Q, (a[0] * b[1] + a[1] * b[0]) % Q)


def _f2_pow(a: Fq2, e: int) -> Fq2:
    out: Fq2 = (1, 0)
    while e:
        if e & 1:
            out = _f2_mul(out, a)
        a = _f2_mul(a, a)
        e >>= 1
    return out


def _f2_is_square(a: Fq2) -> bool:
    norm = (a[0] * a[0] + a[1] * a[1]) % Q
    return norm == 0 or pow(norm, (Q - 1) // 2, Q) == 1


def _f2_sqrt(a: Fq2) -> Fq2:
    """A square root in F_q2 for q = 3 mod 4 (Adj & Rodríguez-Henríquez, algorithm 9)."""
    a1 = _f2_pow(a, (Q - 3) // 4)
    alpha = _f2_mul(_f2_mul(a1, a1), a)
    x0 = _f2_mul(a1, a)
    if alpha == (Q - 1, 0):
        return ((-x0[1]) % Q, x0[0])  # i * x0
    b = _f2_pow(((1 + alpha[0]) % Q, alpha[1]), (Q - 1) // 2)
    return _f2_mul(b, x0)


def _negative(c: int) -> bool:
    return c > HALF_Q


def g1_from_rng(rng: ChaCha) -> G1Point:
    while True:
        x = field_from_rng(rng, Q)
        greatest = rng.next_bool()
        rhs = (x * x * x + 3) % Q
        if rhs == 0 or pow(rhs, (Q - 1) // 2, Q) == 1:
            break
    y = pow(rhs, (Q + 1) // 4, Q)
    if greatest != _negative(y):
        y = (-y) % Q
    return G1Point(x, y)


def g2_from_rng(rng: ChaCha) -> G2Point:
    while True:
        x = (field_from_rng(rng, Q), field_from_rng(rng, Q))
        greatest = rng.next_bool()
        x3 = _f2_mul(_f2_mul(x, x), x)
        rhs = ((x3[0] + G2_B[0]) % Q, (x3[1] + G2_B[1]) % Q)
        if _f2_is_square(rhs):
            break
    y = _f2_sqrt(rhs)
    sign = _negative(y[1]) if y[1] else _negative(y[0])
    if greatest != sign:
        y = ((-y[0]) % Q, (-y[1]) % Q)
    # onto the order-r subgroup: the twist point times the cofactor (public data, plain ints)
    p = ecc.multiply((ecc.FQ2(list(x)), ecc.FQ2(list(y)), ecc.FQ2.one()), G2_COFACTOR)
    ax, ay = ecc.normalize(p)
    return G2Point((int(ax.coeffs[0]), int(ax.coeffs[1])), (int(ay.coeffs[0]), int(ay.coeffs[1])))


def hash_to_g2(digest: bytes) -> G2Point:
    return g2_from_rng(ChaCha.from_bytes_be(digest))


def g2_sp(personalization: int, challenge: bytes, g1_s: G1Point, g1_sx: G1Point) -> G2Point:
    return hash_to_g2(blake2b512(bytes([personalization]), challenge, g1_s.to_bytes(), g1_sx.to_bytes()))


@dataclass(frozen=True)
class FactorProof:
    """The public half for one secret factor x: s, s·x, and [x]·H(challenge, s, s·x)."""

    g1_s: G1Point
    g1_sx: G1Point
    g2_spx: G2Point


@dataclass(frozen=True)
class ContributionKey:
    tau: FactorProof
    alpha: FactorProof
    beta: FactorProof

    def to_uncompressed(self) -> bytes:
        """The public key in the order the hashes absorb it: six G1 points, then three G2."""
        parts = [self.tau.g1_s, self.tau.g1_sx, self.alpha.g1_s, self.alpha.g1_sx,
                 self.beta.g1_s, self.beta.g1_sx]
        g2 = [self.tau.g2_spx, self.alpha.g2_spx, self.beta.g2_spx]
        return b"".join(p.to_bytes() for p in parts) + b"".join(p.to_bytes() for p in g2)


@dataclass(frozen=True)
class SecretFactors:
    """A contribution's toxic waste; the contributor must forget it."""

    tau: int
    alpha: int
    beta: int


def create_key(challenge: bytes, rng: ChaCha) -> tuple[SecretFactors, ContributionKey]:
    factors = SecretFactors(*(field_from_rng(rng, R) for _ in range(3)))
    proofs = []
    for pers, x in enumerate((factors.tau, factors.alpha, factors.beta)):
        g1_s = g1_from_rng(rng)
        g1_sx = g1_s.mul_secret(x)
        proofs.append(FactorProof(g1_s, g1_sx, g2_sp(pers, challenge, g1_s, g1_sx).mul_secret(x)))
    return factors, ContributionKey(*proofs)


def random_rng() -> ChaCha:
    return ChaCha.from_bytes_be(secrets.token_bytes(32))


def beacon_rng(beacon_hash: bytes, iterations_exp: int) -> ChaCha:
    """snarkjs's beacon: sha256 applied 2^iterations_exp times, then the first 32 bytes seed
    ChaCha."""
    h = beacon_hash
    for _ in range(1 << iterations_exp):
        h = hashlib.sha256(h).digest()
    return ChaCha.from_bytes_be(h)

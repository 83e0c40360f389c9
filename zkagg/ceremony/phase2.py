"""Phase 2: Groth16 keys for one circuit from a verified powers-of-tau, in snarkjs's convention
(`snarkjs groth16 setup` / `zkey contribute` / `zkey beacon` / `zkey verify`).

α and β come from the ptau, γ = [1]_2, δ starts at 1 and is re-randomized by contributions, so
one honest phase-2 contributor and one honest phase-1 contributor make the key sound. The
queries are sums of the ptau's Lagrange points: A_j = Σ_c A[c][j]·[L_c(τ)]_1 (and B in G1 and
G2), the IC and C queries Σ_c (A[c][j]·[βL_c] + B[c][j]·[αL_c] + C[c][j]·[L_c]) (over δ for C),
H the odd points of the 2n-point basis. Rows past the constraints bind the public inputs
(A[n + j][j] = 1), as in zkagg's own QAP, so a key from here proves with zkagg's prover.

A contribution multiplies δ by a secret x, divides C and H by x (constant-time kernels), and
publishes s, s·x and [x]·hash_to_g2(transcript), the transcript chaining the circuit hash and
every earlier contribution: the same proof of knowledge snarkjs writes and checks.
"""

from __future__ import annotations

import random
import struct

import numpy as np

from ..bn254 import FR_MODULUS, FrArray, G1Array, G1Point, G2Array, G2Point, get_backend
from ..bn254.pairing import pairing_product_is_one
from ..circuit import R1CS, SparseMatrix
from ..errors import CircuitError, InputError, SetupError, check_int
from ..groth16.qap import domain_size, extended
from .blake2b import Blake2b512, blake2b512
from .contribution_key import (
    ChaCha,
    beacon_rng,
    field_from_rng,
    g1_from_rng,
    hash_to_g2,
    random_rng,
)
from .encoding import limbs_to_uncompressed
from .glv import g1_mul_public, g2_mul_public
from .lagrange import group_ifft
from .phase1 import MAX_BEACON_EXP, MIN_BEACON_EXP
from .phase1 import verify as verify_ptau
from .ptau import Ptau
from .zkey import NEW_ORDER, Zkey, ZkeyContribution

R = FR_MODULUS
R2 = pow(2, 512, R)
_HASH_CHUNK = 1 << 14  # snarkjs hashes the H points in chunks of this many


def _segment_sum(group: str, points: np.ndarray, seg: np.ndarray, n_out: int) -> np.ndarray:
    """out[s] = Σ points[e] over entries e with seg[e] = s (infinity where none), by pairwise
    addition rounds over the entries sorted by segment."""
    be = get_backend()
    width = points.shape[1]
    order = np.argsort(seg, kind="stable")
    pts, sg = points[order], seg[order]
    while len(sg):
        idx = np.arange(len(sg))
        first = np.r_[0, np.flatnonzero(sg[1:] != sg[:-1]) + 1]
        starts = np.repeat(first, np.diff(np.r_[first, len(sg)]))
        rank = idx - starts
        if not (rank > 0).any():
            break
        even = idx[rank % 2 == 0]
        has = (even + 1 < len(sg))
        has[has] &= sg[even[has] + 1] == sg[even[has]]
        new = pts[even].copy()
        if has.any():
            new[has] = be.point_add(group, np.ascontiguousarray(pts[even[has]]),  # type: ignore[arg-type]
                                    np.ascontiguousarray(pts[even[has] + 1]))
        pts, sg = new, sg[even]
    out = np.zeros((n_out, width), dtype=np.uint64)
    out[sg] = pts
    return out


def _combine(group: str, parts: list[tuple[SparseMatrix, np.ndarray]], n_out: int) -> np.ndarray:
    """Σ over the given (matrix, base points) of M^T-weighted sums: out[j] = Σ_c M[c][j]·base[c].

    Entries of one column with the same coefficient (Poseidon's MDS rows repeat them) first add
    their base points, then take one multiplication: (col, coef) groups instead of entries."""
    pts, segs = [], []
    for mat, base in parts:
        row_ptr, cols, coeffs = mat.csr()
        rows = np.repeat(np.arange(mat.n_rows), np.diff(row_ptr))
        if len(rows) == 0:
            continue
        key = np.empty(len(rows), dtype=[("col", "<u4"), ("k", "<u8", (4,))])
        key["col"], key["k"] = cols, coeffs
        groups, inverse = np.unique(key, return_inverse=True)
        points = np.ascontiguousarray(base[rows])
        if len(groups) < 0.8 * len(rows):
            points = _segment_sum(group, points, inverse.reshape(-1).astype(np.int64), len(groups))
            coeffs, cols = np.ascontiguousarray(groups["k"]), groups["col"]
        k = np.ascontiguousarray(coeffs)
        pts.append(g1_mul_public(points, FrArray._trusted(k)) if group == "g1"
                   else g2_mul_public(points, FrArray._trusted(k)))
        segs.append(cols.astype(np.int64))
    width = 8 if group == "g1" else 16
    if not pts:
        return np.zeros((n_out, width), dtype=np.uint64)
    return _segment_sum(group, np.concatenate(pts), np.concatenate(segs), n_out)


def _lagrange(ptau: Ptau, name: str, k: int) -> np.ndarray:
    if ptau.prepared is not None:
        return ptau.prepared.block(name, k).limbs
    src = getattr(ptau, name)
    n = 1 << k
    if n > len(src):  # the 2^(p+1) tauG1 block: every power, padded with infinity
        src = type(src)._trusted(np.concatenate([src.limbs, np.zeros((1, src.limbs.shape[1]), dtype=np.uint64)]))
    return group_ifft(src[:n]).limbs


def _coefficient_section(r1cs: R1CS, n_public: int) -> bytes:
    """Section 4: A then B entries per constraint in the .r1cs order, then the binding rows;
    values times 2^512 mod r (snarkjs keeps them in a doubly-Montgomery form)."""
    entries = []
    for matrix, mat in ((0, r1cs.a), (1, r1cs.b)):
        row_ptr, cols, coeffs = mat.csr()
        rows = np.repeat(np.arange(mat.n_rows), np.diff(row_ptr))
        vals = [v * R2 % R for v in FrArray._trusted(coeffs).to_ints()] if len(rows) else []
        entries += [(int(r), matrix, int(c), v) for r, c, v in zip(rows, cols, vals)]
    entries.sort(key=lambda e: (e[0], e[1]))  # per constraint: A terms, then B terms (stable)
    n_c = r1cs.n_constraints
    entries += [(n_c + s, 0, s, R2) for s in range(n_public + 1)]
    body = b"".join(struct.pack("<III", m, c, s) + v.to_bytes(32, "little") for c, m, s, v in entries)
    return struct.pack("<I", len(entries)) + body


def _u32be(n: int) -> bytes:
    return struct.pack(">I", n)


def setup(r1cs: R1CS, ptau: Ptau, *, ptau_verified: bool = False, rng: random.Random | None = None) -> Zkey:
    """The initial key (δ = 1, not yet usable: contribute before proving) for `r1cs` from `ptau`,
    equal byte for byte to `snarkjs groth16 setup`'s. The ptau is verified first unless the
    caller has done so (`ptau_verified=True`)."""
    if not ptau_verified:
        verify_ptau(ptau, rng)
    n = domain_size(r1cs)
    k = n.bit_length() - 1
    if n > 1 << ptau.power:
        raise CircuitError(f"the circuit needs a domain of 2^{k}; the ptau has powers up to 2^{ptau.power}")
    a_ext, b_ext, c_ext = extended(r1cs)
    m, n_pub = r1cs.n_wires, r1cs.n_public
    rows = a_ext.n_rows
    tau1 = _lagrange(ptau, "tau_g1", k)[:rows]
    tau2 = _lagrange(ptau, "tau_g2", k)[:rows]
    alpha1 = _lagrange(ptau, "alpha_tau_g1", k)[:rows]
    beta1 = _lagrange(ptau, "beta_tau_g1", k)[:rows]
    h = _lagrange(ptau, "tau_g1", k + 1)[1::2]
    a = _combine("g1", [(a_ext, tau1)], m)
    b1 = _combine("g1", [(b_ext, tau1)], m)
    b2 = _combine("g2", [(b_ext, tau2)], m)
    mixed = _combine("g1", [(a_ext, beta1), (b_ext, alpha1), (c_ext, tau1)], m)
    g1, g2 = G1Point.generator(), G2Point.generator()
    alpha_g1, beta_g1 = ptau.alpha_tau_g1[0], ptau.beta_tau_g1[0]
    # the circuit hash: header points, then each query as snarkjs hashes it (uncompressed)
    cs = Blake2b512()
    for p in (alpha_g1, beta_g1, ptau.beta_g2, g2, g1, g2):
        cs.update(p.to_bytes())
    ic, c = mixed[: n_pub + 1], mixed[n_pub + 1 :]
    cs.update(_u32be(n_pub + 1)).update(limbs_to_uncompressed(ic, "g1"))
    cs.update(_u32be(n - 1))
    be = get_backend()
    tau = ptau.tau_g1.limbs
    for start in range(0, n - 1, _HASH_CHUNK):
        count = min(n - 1, _HASH_CHUNK)  # sic: snarkjs hashes whole chunks past n - 1
        if start + n + count > len(tau):
            raise CircuitError(f"a 2^{k} circuit needs a ptau of power > {ptau.power} for snarkjs's circuit hash")
        diff = be.point_add("g1", tau[start + n : start + n + count], be.point_neg("g1", tau[start : start + count]))
        cs.update(limbs_to_uncompressed(diff, "g1"))
    for arr, group in ((c, "g1"), (a, "g1"), (b1, "g1"), (b2, "g2")):
        cs.update(_u32be(len(arr))).update(limbs_to_uncompressed(arr, group))  # type: ignore[arg-type]
    return Zkey(m, n_pub, n, alpha_g1, beta_g1, ptau.beta_g2, g2, g1, g2, G1Array._trusted(ic),
                _coefficient_section(r1cs, n_pub), G1Array._trusted(a), G1Array._trusted(b1),
                G2Array._trusted(b2), G1Array._trusted(c), G1Array._trusted(np.ascontiguousarray(h)),
                cs.digest(), (), NEW_ORDER)


def _transcript(zk: Zkey) -> Blake2b512:
    h = Blake2b512().update(zk.cs_hash)
    for c in zk.contributions:
        h.update(c.pubkey_bytes())
    return h


def _apply(zk: Zkey, x: int, g1_s: G1Point, name: str, beacon: tuple[bytes, int] | None) -> Zkey:
    g1_sx = g1_s.mul_secret(x)
    transcript = _transcript(zk).update(g1_s.to_bytes()).update(g1_sx.to_bytes()).digest()
    g2_spx = hash_to_g2(transcript).mul_secret(x)
    delta_g1, delta_g2 = zk.delta_g1.mul_secret(x), zk.delta_g2.mul_secret(x)
    x_inv = FrArray.from_ints([x]).inverse()
    c = zk.c.scalar_mul_secret(FrArray._trusted(np.repeat(x_inv.limbs, len(zk.c), axis=0)))
    h = zk.h.scalar_mul_secret(FrArray._trusted(np.repeat(x_inv.limbs, len(zk.h), axis=0)))
    record = ZkeyContribution(delta_g1, g1_s, g1_sx, g2_spx, transcript, name[:64],
                              beacon[0] if beacon else None, beacon[1] if beacon else 0)
    fields = {f: getattr(zk, f) for f in zk.__dataclass_fields__}
    fields.update(delta_g1=delta_g1, delta_g2=delta_g2, c=c, h=h, contributions=(*zk.contributions, record),
                  order=(1, 2, 3, 4, 5, 6, 7, 8, 9, 10))
    return Zkey(**fields)


def contribute(zk: Zkey, name: str = "", rng: random.Random | None = None) -> Zkey:
    """One more δ contribution (secret from the OS CSPRNG, or a seeded rng in tests)."""
    chacha = random_rng() if rng is None else ChaCha([rng.getrandbits(32) for _ in range(8)])
    x = field_from_rng(chacha, R)
    return _apply(zk, x, g1_from_rng(chacha), name, None)


def beacon(zk: Zkey, beacon_hash: bytes, iterations_exp: int, name: str = "") -> Zkey:
    check_int("iterations_exp", iterations_exp, MIN_BEACON_EXP, MAX_BEACON_EXP)
    if not isinstance(beacon_hash, bytes) or not 1 <= len(beacon_hash) <= 255:
        raise InputError("beacon_hash must be 1 to 255 bytes")
    chacha = beacon_rng(beacon_hash, iterations_exp)
    x = field_from_rng(chacha, R)
    return _apply(zk, x, g1_from_rng(chacha), name, (beacon_hash, iterations_exp))


def _same_ratio(a1: G1Point, b1: G1Point, a2: G2Point, b2: G2Point) -> bool:
    if a1.is_infinity or b1.is_infinity or a2.is_infinity or b2.is_infinity:
        return False
    return pairing_product_is_one([(a1, b2), (-b1, a2)])


def verify(zk: Zkey, r1cs: R1CS, ptau: Ptau, *, ptau_verified: bool = False,
           rng: random.Random | None = None) -> None:
    """Check a phase-2 transcript against the circuit and the ptau (snarkjs `zkey verify`):
    SetupError naming the first failed check. The key must have at least one contribution."""
    init = setup(r1cs, ptau, ptau_verified=ptau_verified, rng=rng)
    if zk.cs_hash != init.cs_hash:
        raise SetupError("the circuit hash differs: the key is for another circuit or ptau")
    same = (("n_vars", "nVars"), ("n_public", "nPublic"), ("domain_size", "domain"), ("alpha_g1", "alpha"),
            ("beta_g1", "beta_g1"), ("beta_g2", "beta_g2"), ("gamma_g2", "gamma"), ("ic", "IC"),
            ("coeffs", "coefficients"), ("a", "A"), ("b1", "B1"), ("b2", "B2"))
    for attr, label in same:
        if getattr(zk, attr) != getattr(init, attr):
            raise SetupError(f"{label} differs from the key the circuit and ptau give")
    if not zk.contributions:
        raise SetupError("the key has no phase-2 contribution: delta is 1 and anyone can forge")
    transcript = Blake2b512().update(zk.cs_hash)
    delta = G1Point.generator()
    for i, c in enumerate(zk.contributions):
        label = f"contribution {i + 1}{' (' + c.name + ')' if c.name else ''}"
        mine = transcript.copy().update(c.g1_s.to_bytes()).update(c.g1_sx.to_bytes()).digest()
        if mine != c.transcript:
            raise SetupError(f"{label}: the transcript hash does not chain")
        sp = hash_to_g2(c.transcript)
        if not _same_ratio(c.g1_s, c.g1_sx, sp, c.g2_spx):
            raise SetupError(f"{label}: the proof of knowledge does not verify")
        if not _same_ratio(delta, c.delta_after, sp, c.g2_spx):
            raise SetupError(f"{label}: delta does not follow the previous one")
        if c.is_beacon:
            assert c.beacon_hash is not None
            chacha = beacon_rng(c.beacon_hash, c.beacon_iterations_exp)
            x = field_from_rng(chacha, R)
            s = g1_from_rng(chacha)
            if s != c.g1_s or s * x != c.g1_sx:
                raise SetupError(f"{label}: the beacon key is not the one its beacon hash gives")
        transcript.update(c.pubkey_bytes())
        delta = c.delta_after
    if zk.delta_g1 != delta:
        raise SetupError("delta_g1 is not the last contribution's")
    if not _same_ratio(G1Point.generator(), delta, G2Point.generator(), zk.delta_g2):
        raise SetupError("delta in G1 and G2 disagree")
    for name, final, initial in (("C", zk.c, init.c), ("H", zk.h, init.h)):
        if len(final) != len(initial):
            raise SetupError(f"the {name} query has the wrong length")
        if len(final) == 0:
            continue
        rho = FrArray.random(len(final), rng)
        # final·δ = initial (δ_init = 1), combined over all entries
        if not pairing_product_is_one([(final.msm(rho), zk.delta_g2), (-initial.msm(rho), G2Point.generator())]):
            raise SetupError(f"the {name} query is not the initial one over delta")
    zk.proving_key()  # the non-degeneracy checks of a usable key


def contribution_hash(c: ZkeyContribution) -> bytes:
    return blake2b512(c.pubkey_bytes())

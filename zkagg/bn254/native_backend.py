"""Native engine: hands numpy buffers to the C core without copying.

F_r arrays go in and come out canonical. Points are converted to Montgomery form on the way in
and back on the way out (a few multiplications per point, small next to any curve operation).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import native
from ..errors import InputError, LengthError, NativeError, NotInvertibleError
from .backend import CSR, POINT_LIMBS, Group, MsmPart
from .constants import FR_MODULUS
from .limbs import Limbs, ints_to_limbs, limbs_to_ints

OK, ERR_ALLOC, ERR_ARG, ERR_ZERO = 0, -1, -2, -3


class NativeBackend:
    def __init__(self, variant: str | None = None) -> None:
        self.variant = variant or native.variant_name()
        self.name = f"native-{self.variant}"
        mod = native.load(self.variant)
        self.ffi, self.lib = mod.ffi, mod.lib

    # ---- plumbing ----
    def _ptr(self, arr: Limbs) -> Any:
        return self.ffi.from_buffer("uint64_t[]", arr)

    def _check_rc(self, rc: int, what: str) -> None:
        if rc == ERR_ZERO:
            raise NotInvertibleError(f"{what}: an element is zero and has no inverse")
        if rc != OK:
            raise NativeError(f"{what} failed in the native core (code {rc})")

    def _new(self, n: int, width: int = 4) -> Limbs:
        return np.empty((n, width), dtype=np.uint64)

    def _scalar(self, s: int) -> Limbs:
        return ints_to_limbs([s], FR_MODULUS, "scalar")

    def _to_mont(self, p: Limbs) -> Limbs:
        out = np.empty_like(p)
        self.lib.zkagg_fq_to_mont(self._ptr(out), self._ptr(p), p.size // 4)
        return out

    def _from_mont(self, p: Limbs) -> Limbs:
        self.lib.zkagg_fq_from_mont(self._ptr(p), self._ptr(p), p.size // 4)
        return p

    def _fn(self, g: Group, op: str) -> Any:
        return getattr(self.lib, f"zkagg_{g}_{op}")

    # ---- F_r ----
    def _binary(self, fn: Any, a: Limbs, b: Limbs, out: Limbs | None = None) -> Limbs:
        out = self._new(len(a)) if out is None else out
        fn(self._ptr(out), self._ptr(a), self._ptr(b), len(a))
        return out

    def fr_add(self, a: Limbs, b: Limbs) -> Limbs:
        return self._binary(self.lib.zkagg_fr_add, a, b)

    def fr_sub(self, a: Limbs, b: Limbs, out: Limbs | None = None) -> Limbs:
        return self._binary(self.lib.zkagg_fr_sub, a, b, out)

    def fr_mul(self, a: Limbs, b: Limbs, out: Limbs | None = None) -> Limbs:
        return self._binary(self.lib.zkagg_fr_mul, a, b, out)

    def fr_neg(self, a: Limbs) -> Limbs:
        out = self._new(len(a))
        self.lib.zkagg_fr_neg(self._ptr(out), self._ptr(a), len(a))
        return out

    def fr_scale(self, a: Limbs, s: int, out: Limbs | None = None) -> Limbs:
        out = self._new(len(a)) if out is None else out
        self.lib.zkagg_fr_scale(self._ptr(out), self._ptr(a), self._ptr(self._scalar(s)), len(a))
        return out

    def fr_dot(self, a: Limbs, b: Limbs) -> int:
        out = self._new(1)
        self.lib.zkagg_fr_inner_product(self._ptr(out), self._ptr(a), self._ptr(b), len(a))
        return limbs_to_ints(out)[0]

    def fr_inverse(self, a: Limbs) -> Limbs:
        out = self._new(len(a))
        self._check_rc(self.lib.zkagg_fr_batch_inverse(self._ptr(out), self._ptr(a), len(a)), "inverse")
        return out

    def fr_ntt(self, a: Limbs, inverse: bool, coset: bool, out: Limbs | None = None) -> Limbs:
        if out is None:
            out = a.copy()
        elif out is not a:
            out[...] = a
        fn = self.lib.zkagg_fr_coset_ntt if coset else self.lib.zkagg_fr_ntt
        log_n = len(a).bit_length() - 1
        self._check_rc(fn(self._ptr(out), log_n, int(inverse)), "NTT")
        return out

    def _csr_ptrs(self, m: CSR) -> tuple[Any, Any, Any]:
        row_ptr, cols, coeffs = m
        return (self.ffi.from_buffer("int64_t[]", row_ptr), self.ffi.from_buffer("uint32_t[]", cols),
                self._ptr(coeffs))

    def fr_csr_mul(self, m: CSR, x: Limbs) -> Limbs:
        out = self._new(len(m[0]) - 1)
        if len(m[1]) and int(m[1].max()) >= len(x):
            raise InputError(f"a column index is outside the vector of length {len(x)}")
        self._check_rc(self.lib.zkagg_fr_csr_mul(self._ptr(out), *self._csr_ptrs(m), self._ptr(x), len(out)), "sparse product")
        return out

    def fr_csr_mul_t(self, m: CSR, x: Limbs, n_cols: int) -> Limbs:
        out = self._new(n_cols)
        rc = self.lib.zkagg_fr_csr_mul_t(self._ptr(out), *self._csr_ptrs(m), self._ptr(x), len(x), n_cols)
        if rc == ERR_ARG:
            raise InputError(f"a column index is outside the {n_cols} columns")
        self._check_rc(rc, "sparse product")
        return out

    # ---- points ----
    def point_check(self, g: Group, p: Limbs, cache: dict[str, Any] | None = None) -> int:
        mont = self._to_mont(p)
        bad = int(self._fn(g, "check")(self._ptr(mont), len(p)))
        if cache is not None and bad < 0:  # valid: the MSMs over these points can start from it
            cache["mont"] = mont
        return bad

    def point_add(self, g: Group, a: Limbs, b: Limbs) -> Limbs:
        out = self._new(len(a), POINT_LIMBS[g])
        am, bm = self._to_mont(a), self._to_mont(b)
        self._fn(g, "add")(self._ptr(out), self._ptr(am), self._ptr(bm), len(a))
        return self._from_mont(out)

    def _unary(self, g: Group, op: str, a: Limbs) -> Limbs:
        out = self._new(len(a), POINT_LIMBS[g])
        self._fn(g, op)(self._ptr(out), self._ptr(self._to_mont(a)), len(a))
        return self._from_mont(out)

    def point_double(self, g: Group, a: Limbs) -> Limbs:
        return self._unary(g, "double", a)

    def point_neg(self, g: Group, a: Limbs) -> Limbs:
        return self._unary(g, "neg", a)

    def point_mul(self, g: Group, p: Limbs, k: Limbs) -> Limbs:
        out = self._new(len(p), POINT_LIMBS[g])
        self._fn(g, "mul")(self._ptr(out), self._ptr(self._to_mont(p)), self._ptr(k), len(p))
        return self._from_mont(out)

    def point_mul_secret(self, g: Group, p: Limbs, k: Limbs) -> Limbs:
        out = self._new(len(p), POINT_LIMBS[g])
        self._fn(g, "mul_ct")(self._ptr(out), self._ptr(self._to_mont(p)), self._ptr(k), len(p))
        return self._from_mont(out)

    def point_fixed_base_mul(self, g: Group, base: Limbs, k: Limbs) -> Limbs:
        if base.shape != (1, POINT_LIMBS[g]):
            raise LengthError(f"a fixed base is one {g.upper()} point, not an array of shape {base.shape}")
        out = self._new(len(k), POINT_LIMBS[g])
        rc = self._fn(g, "fixed_base_mul")(self._ptr(out), self._ptr(self._to_mont(base)), self._ptr(k), len(k), 0)
        self._check_rc(rc, "fixed-base multiplication")
        return self._from_mont(out)

    def _bases(self, p: Limbs, cache: dict[str, Any] | None) -> Limbs:
        if cache is None:
            return self._to_mont(p)
        if "mont" not in cache:  # Montgomery form does not depend on the variant
            cache["mont"] = self._to_mont(p)
        return cache["mont"]  # type: ignore[no-any-return]

    def msm(self, g: Group, p: Limbs, k: Limbs, cache: dict[str, Any] | None = None) -> Limbs:
        out = self._new(1, POINT_LIMBS[g])
        rc = self._fn(g, "msm")(self._ptr(out), self._ptr(self._bases(p, cache)), self._ptr(k), len(p))
        self._check_rc(rc, "MSM")
        return self._from_mont(out)

    def msm_many(self, scalars: Sequence[Limbs], parts: Sequence[MsmPart]) -> list[Limbs]:
        out = self._new(len(parts), 16)
        bases = [self._bases(pt.points, pt.cache) for pt in parts]  # kept alive during the call
        c_parts = self.ffi.new("zkagg_msm_part[]", len(parts))
        for c, pt, b in zip(c_parts, parts, bases):
            c.points, c.count, c.group = self._ptr(b), len(pt.points), 1 if pt.group == "g1" else 2
            c.vector, c.offset = pt.vector, pt.offset
        k_ptrs = [self._ptr(k) for k in scalars]
        rc = self.lib.zkagg_msm_many(self._ptr(out), c_parts, len(parts), self.ffi.new("uint64_t *[]", k_ptrs),
                                     self.ffi.new("size_t[]", [len(k) for k in scalars]), len(scalars))
        self._check_rc(rc, "MSM")
        self._from_mont(out)
        return [out[j : j + 1, : POINT_LIMBS[pt.group]].copy() for j, pt in enumerate(parts)]

    # ---- pairing ----
    def pairing_check(self, g1: Limbs, g2: Limbs) -> bool:
        if len(g1) != len(g2):
            raise LengthError(f"pairing check of {len(g1)} G1 points and {len(g2)} G2 points")
        rc = self.lib.zkagg_pairing_check(self._ptr(self._to_mont(g1)), self._ptr(self._to_mont(g2)), len(g1))
        if rc < 0:
            self._check_rc(rc, "pairing check")
        return bool(rc == 1)

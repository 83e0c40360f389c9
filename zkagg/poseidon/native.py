"""Native Poseidon engine: hands canonical limb buffers to native/src/poseidon.c.

The fast-form parameters (optimize.py) are converted to Montgomery form once per width and kept
alive here, since the C struct only points at them.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from .. import native
from ..bn254.limbs import Limbs, ints_to_limbs
from ..errors import InputError, NativeError
from .optimize import fast_params
from .params import R

OK, ERR_ALLOC, ERR_ARG = 0, -1, -2
_FIELDS = ("full_constants", "mds", "pre_mds", "partial_first", "partial_constants", "sparse")


@cache
def montgomery_params(t: int) -> dict[str, Limbs]:
    """The fast-form constants of width t as read-only Montgomery-form limb arrays."""
    f = fast_params(t)
    out = {}
    for name in _FIELDS:
        values = getattr(f, name)
        arr = ints_to_limbs([(v << 256) % R for v in values], R, name)
        arr.flags.writeable = False
        out[name] = arr
    return out


class NativePoseidon:
    def __init__(self, variant: str | None = None) -> None:
        self.variant = variant or native.variant_name()
        mod = native.load(self.variant)
        self.ffi, self.lib = mod.ffi, mod.lib
        self._structs: dict[int, Any] = {}
        # cffi buffers borrowed from the cached numpy arrays; kept so the pointers stay valid
        self._keep: list[Any] = []
        size_t = self.ffi.sizeof("size_t")
        self._size_dtype = np.dtype(f"=u{size_t}")

    def _params(self, t: int) -> Any:
        struct = self._structs.get(t)
        if struct is None:
            f = fast_params(t)
            struct = self.ffi.new("zkagg_poseidon_params *")
            struct.t, struct.rounds_f, struct.rounds_p = f.t, f.rounds_f, f.rounds_p
            for name, arr in montgomery_params(t).items():
                buf = self.ffi.from_buffer("uint64_t[]", arr)
                self._keep.append(buf)
                setattr(struct, name, buf)
            self._structs[t] = struct
        return struct

    def _check(self, rc: int, what: str) -> None:
        if rc == ERR_ARG:
            raise InputError(f"Poseidon {what}: an element is not below r, or bad parameters")
        if rc != OK:
            raise NativeError(f"Poseidon {what} failed in the native core (code {rc})")

    def permute(self, states: Limbs, t: int) -> Limbs:
        """Permute n states of width t given as an (n * t, 4) canonical limb array (a copy)."""
        out = np.array(states, dtype=np.uint64, order="C", copy=True)
        n = len(out) // t
        rc = self.lib.zkagg_poseidon_permute(self.ffi.from_buffer("uint64_t[]", out), n, self._params(t))
        self._check(rc, "permutation")
        return out

    def sponge_many(self, data: Limbs, lengths: Sequence[int], t: int) -> Limbs:
        """Sponge hashes of the vectors stored back to back in data ((sum(lengths), 4) limbs)."""
        n = len(lengths)
        out = np.empty((n, 4), dtype=np.uint64)
        lens = np.asarray(lengths, dtype=self._size_dtype)
        src = np.ascontiguousarray(data, dtype=np.uint64)
        if len(src) == 0:  # from_buffer needs a non-empty buffer to point at
            src = np.zeros((1, 4), dtype=np.uint64)
        rc = self.lib.zkagg_poseidon_sponge(
            self.ffi.from_buffer("uint64_t[]", out),
            self.ffi.from_buffer("uint64_t[]", src),
            self.ffi.from_buffer("size_t[]", lens) if n else self.ffi.NULL,
            n,
            self._params(t),
        )
        self._check(rc, "sponge")
        return out

    def absorb_trace(self, inputs: Limbs, t: int, n_out: int) -> Limbs:
        """Absorb-step traces of n instances: inputs (n * (2t - 1), 4) canonical limbs, each
        instance's prev then block; returns (n * n_out, 4) limbs, n_out = trace_length(t)."""
        n = len(inputs) // (2 * t - 1)
        out = np.empty((n * n_out, 4), dtype=np.uint64)
        if n == 0:
            return out
        src = np.ascontiguousarray(inputs, dtype=np.uint64)
        rc = self.lib.zkagg_poseidon_absorb_trace(
            self.ffi.from_buffer("uint64_t[]", out), self.ffi.from_buffer("uint64_t[]", src), n, self._params(t)
        )
        self._check(rc, "absorb trace")
        return out

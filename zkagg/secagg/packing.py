"""Packing several small unsigned integers into one F_r element, so that one mask element hides
several quantized values and one field addition adds them all.

Layout: with slots of `width` bits and `per` slots per element, element e is
sum_{s < per} values[e * per + s] * 2^(width * s) (little end first), over ceil(n / per)
elements; the last element may hold fewer values, its unused slots are zero. Constraints:
1 <= width <= 64, per >= 1 and width * per <= 253, so every packed element is below 2^253 < r.

Sums: as long as no slot of the sum reaches 2^width, the sum of packings (in F_r) is the packing
of the sums. A slot that overflows carries silently into the next one; a carry out of the top
slot leaves bits above the slots, which `unpack` reports, as long as the integer sum stays below
r (beyond, it wraps mod r and is meaningless). Choosing width so that the sum of all clients'
values fits is the caller's budget; the check is a safety net, not a substitute.

Errors: a value >= 2^width, or an element with bits outside its slots, raises BudgetError
naming the index; malformed parameters raise InputError, wrong lengths LengthError. The native
kernels are in native/src/pack.c; `ZKAGG_BACKEND=reference` runs the Python-int twin.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..bn254 import FrArray, native_module
from ..errors import BudgetError, InputError, LengthError, NativeError, check_int

#: packed elements stay below 2^MAX_BITS < r
MAX_BITS = 253
MAX_WIDTH = 64

_OK, _ERR_OVERFLOW, _ERR_RANGE = 0, -4, -5

__all__ = ["MAX_BITS", "MAX_WIDTH", "max_per", "n_elements", "pack", "unpack"]


def max_per(width: int) -> int:
    """The most slots of `width` bits one element holds: 253 // width."""
    check_int("width", width, 1, MAX_WIDTH)
    return MAX_BITS // width


def n_elements(count: int, per: int) -> int:
    """Elements needed for `count` values at `per` values per element: ceil(count / per)."""
    check_int("count", count, 0)
    check_int("per", per, 1, MAX_BITS)
    return -(-count // per)


def pack(values: npt.NDArray[np.uint64], *, width: int, per: int) -> FrArray:
    """Pack a 1-D uint64 array, `per` values of `width` bits per element (layout above)."""
    _check_layout(width, per)
    vals = _check_values(values)
    n_out = -(-len(vals) // per)
    mod = native_module()
    if mod is None:
        ints = [int(v) for v in vals]
        _raise_if_too_wide(vals, width)
        return FrArray.from_ints(
            [sum(v << (width * s) for s, v in enumerate(ints[e * per : (e + 1) * per])) for e in range(n_out)]
        )
    out = np.empty((n_out, 4), dtype=np.uint64)
    if len(vals):
        ffi, c = mod.ffi, mod.lib
        rc = c.zkagg_pack(ffi.from_buffer("uint64_t[]", out), ffi.from_buffer("uint64_t[]", vals), len(vals), width, per)
        if rc == _ERR_OVERFLOW:
            _raise_if_too_wide(vals, width)
        _check_rc(rc, "pack")
    return FrArray._trusted(out)


def unpack(elements: FrArray, count: int, *, width: int, per: int) -> npt.NDArray[np.uint64]:
    """The `count` values packed in `elements` (which must hold ceil(count / per) elements)."""
    _check_layout(width, per)
    if not isinstance(elements, FrArray):
        raise InputError(f"elements must be an FrArray, not {type(elements).__name__}")
    need = n_elements(count, per)
    if len(elements) != need:
        raise LengthError(f"{count} values at {per} per element need {need} elements, not {len(elements)}")
    mod = native_module()
    if mod is None:
        ints = elements.to_ints()
        _raise_if_stray(ints, count, width, per)
        mask = (1 << width) - 1
        return np.array(
            [(ints[i // per] >> (width * (i % per))) & mask for i in range(count)], dtype=np.uint64
        )
    out = np.empty(count, dtype=np.uint64)
    if count:
        ffi, c = mod.ffi, mod.lib
        rc = c.zkagg_unpack(
            ffi.from_buffer("uint64_t[]", out), ffi.from_buffer("uint64_t[]", elements.limbs), count, width, per
        )
        if rc == _ERR_RANGE:
            _raise_if_stray(elements.to_ints(), count, width, per)
        _check_rc(rc, "unpack")
    return out


# ---- validation ----
def _check_layout(width: Any, per: Any) -> None:
    check_int("width", width, 1, MAX_WIDTH)
    check_int("per", per, 1, MAX_BITS)
    if width * per > MAX_BITS:
        raise InputError(f"width * per = {width * per} must be <= {MAX_BITS} (per <= {MAX_BITS // width})")


def _check_values(values: Any) -> npt.NDArray[np.uint64]:
    if not isinstance(values, np.ndarray):
        raise InputError(f"values must be a numpy uint64 array, not {type(values).__name__}")
    if values.dtype != np.uint64:
        raise InputError(f"values must have dtype uint64, not {values.dtype}")
    if values.ndim != 1:
        raise LengthError(f"values must be 1-D, not of shape {values.shape}")
    return np.ascontiguousarray(values)


def _raise_if_too_wide(vals: npt.NDArray[np.uint64], width: int) -> None:
    if width < 64:
        bad = np.flatnonzero(vals >> np.uint64(width))
        if bad.size:
            i = int(bad[0])
            raise BudgetError(f"values[{i}] = {int(vals[i])} does not fit in {width} bits")


def _raise_if_stray(ints: list[int], count: int, width: int, per: int) -> None:
    for e, v in enumerate(ints):
        used = width * min(per, count - e * per)
        if v >> used:
            raise BudgetError(
                f"elements[{e}] has bits at or above bit {used}: not a packing of {width}-bit "
                "values (or its top slot overflowed)"
            )


def _check_rc(rc: int, what: str) -> None:
    if rc != _OK:
        raise NativeError(f"{what} failed in the native core (code {rc})")


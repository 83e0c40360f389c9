"""Float model updates ⇄ packed F_r vectors: flatten, clip, quantize, weight, offset, pack — and back.

The inverse is one deterministic function (`decode`): unpack the slot sums, remove N·offset, and
divide by N·2^frac_bits in float64. Equal inputs give bit-identical outputs on every machine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..bn254 import native_module
from ..bn254.field import FrArray
from ..errors import BudgetError, InputError, LengthError, NativeError
from . import packing
from .config import Quantization, SecAggConfig

_ERR_NONFINITE = -6

#: an update: one array-like (numpy array, torch tensor, list) or a mapping of them (a state_dict)
Update = Any


def _to_numpy(value: Any, name: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
    ):
        raise InputError(f"{name}: expected a numeric array, got dtype {array.dtype}")
    return array


@dataclass(frozen=True)
class Entry:
    name: str
    shape: tuple[int, ...]
    dtype: str  # numpy's name of the original dtype
    torch: bool  # the original was a torch tensor


@dataclass(frozen=True)
class Layout:
    """Names, shapes and types of an update's tensors, in order, so a flat vector can be turned
    back into the same structure (numpy arrays or torch tensors of the original dtypes)."""

    entries: tuple[Entry, ...]
    is_mapping: bool

    @classmethod
    def of(cls, update: Update) -> Layout:
        items = list(update.items()) if isinstance(update, Mapping) else [("", update)]
        entries = []
        for name, value in items:
            array = _to_numpy(value, str(name) or "update")
            entries.append(Entry(str(name), array.shape, array.dtype.name, hasattr(value, "detach")))
        return cls(tuple(entries), isinstance(update, Mapping))

    @property
    def size(self) -> int:
        return sum(math.prod(e.shape) for e in self.entries)

    def flatten(self, update: Update) -> npt.NDArray[np.float64]:
        """The update as one float64 vector; its names and shapes must match this layout."""
        if isinstance(update, Mapping) != self.is_mapping:
            raise InputError("update: expected " + ("a mapping" if self.is_mapping else "an array"))
        items = list(update.items()) if self.is_mapping else [("", update)]
        if [str(k) for k, _ in items] != [e.name for e in self.entries]:
            raise InputError(f"update: expected tensors {[e.name for e in self.entries]}")
        parts = []
        for entry, (_, value) in zip(self.entries, items):
            array = _to_numpy(value, entry.name or "update")
            if array.shape != entry.shape:
                raise LengthError(f"{entry.name or 'update'}: expected shape {entry.shape}, got {array.shape}")
            parts.append(array.astype(np.float64, copy=False).ravel())
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts) if parts else np.zeros(0)

    def unflatten(self, flat: npt.NDArray[np.float64]) -> Any:
        """The flat vector in this layout: arrays (or torch tensors) of the original shapes and
        dtypes, in a dict if the update was a mapping."""
        if flat.shape != (self.size,):
            raise LengthError(f"expected a vector of {self.size} values, got shape {flat.shape}")
        out: dict[str, Any] = {}
        at = 0
        for e in self.entries:
            n = math.prod(e.shape)
            array = flat[at : at + n].reshape(e.shape).astype(e.dtype)
            if e.torch:
                import torch

                out[e.name] = torch.from_numpy(array)
            else:
                out[e.name] = array
            at += n
        return out if self.is_mapping else out[""]


def quantize(values: npt.NDArray[np.float64], q: Quantization) -> npt.NDArray[np.uint64]:
    """clip → rint(x·2^f) → + offset, as uint64 in [0, 2·offset]. NaN or ±inf raise."""
    if not np.all(np.isfinite(values)):
        bad = int(np.flatnonzero(~np.isfinite(values))[0])
        raise InputError(f"update: value {values[bad]} at index {bad} is not finite")
    clipped = np.clip(values, -q.clip, q.clip)
    ints = np.rint(clipped * q.scale).astype(np.int64) + q.offset
    return np.clip(ints, 0, 2 * q.offset).astype(np.uint64)


def check_weight(weight: object, config: SecAggConfig) -> int:
    if isinstance(weight, bool) or not isinstance(weight, int | np.integer):
        raise InputError(f"weight must be an int, got {type(weight).__name__}")
    if not 1 <= int(weight) <= config.max_weight:
        raise BudgetError(f"weight must be in [1, {config.max_weight}], got {weight}")
    return int(weight)


def encode(update: Update, weight: int, config: SecAggConfig, layout: Layout | None = None) -> FrArray:
    """P_u: the client's weighted, quantized, offset update packed into config.n_elements F_r values."""
    w = check_weight(weight, config)
    flat = (layout or Layout.of(update)).flatten(update)
    if flat.shape[0] != config.model_length:
        raise LengthError(f"update: expected {config.model_length} values, got {flat.shape[0]}")
    return _quantize_pack(flat, w, config)


def _quantize_pack(flat: npt.NDArray[np.float64], weight: int, config: SecAggConfig) -> FrArray:
    q = config.quantization
    mod = native_module()
    if mod is None:
        slots = quantize(flat, q) * np.uint64(weight)
        return packing.pack(slots, width=config.slot_bits, per=config.per_element)
    ffi, c = mod.ffi, mod.lib
    values = np.ascontiguousarray(flat, dtype=np.float64)
    out = np.empty((config.n_elements, 4), dtype=np.uint64)
    rc = c.zkagg_quantize_pack(ffi.from_buffer("uint64_t[]", out), ffi.from_buffer("double[]", values),
                               len(values), q.clip, float(q.scale), q.offset, weight,
                               config.slot_bits, config.per_element)
    if rc == _ERR_NONFINITE:
        quantize(values, q)  # raises, naming the first bad index
    if rc != 0:  # the budget in SecAggConfig makes an overflow impossible
        raise NativeError(f"quantize_pack failed in the native core (code {rc})")
    return FrArray._trusted(out)


def slot_sums(total: FrArray, config: SecAggConfig) -> npt.NDArray[np.uint64]:
    """The per-parameter integer sums Σ_u w_u·(q_u + offset) inside a packed aggregate."""
    if len(total) != config.n_elements:
        raise LengthError(f"aggregate: expected {config.n_elements} elements, got {len(total)}")
    return packing.unpack(total, config.model_length, width=config.slot_bits, per=config.per_element)


def decode(total: FrArray, total_weight: int, config: SecAggConfig) -> npt.NDArray[np.float64]:
    """The weighted mean Σ w_u x_u / N from the packed sum S and N = Σ w_u (deterministic).

    mean_i = float64(S_i − N·offset) / float64(N · 2^frac_bits), where S_i − N·offset is exact.
    """
    if isinstance(total_weight, bool) or not isinstance(total_weight, int) or total_weight < 1:
        raise InputError(f"total_weight must be a positive int, got {total_weight!r}")
    if total_weight > config.n_clients * config.max_weight:
        raise BudgetError(f"total_weight {total_weight} exceeds n_clients × max_weight")
    q = config.quantization
    sums = slot_sums(total, config)
    if np.any(sums > np.uint64(total_weight * 2 * q.offset)):
        raise BudgetError("aggregate: a slot exceeds N × 2·offset; it is not a sum of valid updates")
    centred = sums.astype(np.int64) - np.int64(total_weight * q.offset)
    return centred.astype(np.float64) / float(total_weight * q.scale)

"""A secure-aggregation job's fixed parameters and its overflow budget.

Everything that could wrap is computed here, from the configuration alone, before any client runs:
the largest value a packed slot can hold after summing every client's weighted update must fit in
the slot, and a packed element must stay below r.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import BudgetError, InputError, check_int

#: a packed element holds at most 253 bits, so it stays below r (r > 2^253)
PACKED_BITS = 253
#: slot sums are unpacked into uint64 and centred in int64 (decode)
MAX_SLOT_BITS = 62



@dataclass(frozen=True)
class Quantization:
    """Fixed-point quantization of one float parameter.

    A value x is clipped to [-clip, clip] and rounded half to even to q = rint(x · 2^frac_bits).
    Clients send q + offset with offset = ceil(clip · 2^frac_bits), which lies in [0, 2·offset];
    `bits` is the width that must hold 2·offset. The rounding error is at most 2^-(frac_bits+1) per
    value (values inside the clip range).
    """

    bits: int = 20
    frac_bits: int = 16
    clip: float = 4.0

    def __post_init__(self) -> None:
        check_int("bits", self.bits, 2, 48)
        check_int("frac_bits", self.frac_bits, 0, self.bits)
        if not (isinstance(self.clip, int | float) and math.isfinite(self.clip) and self.clip > 0):
            raise InputError(f"clip must be a finite float > 0, got {self.clip!r}")
        if 2 * self.offset >= 1 << self.bits:
            raise BudgetError(
                f"clip {self.clip} at {self.frac_bits} fractional bits needs "
                f"{(2 * self.offset).bit_length()} bits, more than bits={self.bits}"
            )

    @property
    def offset(self) -> int:
        return math.ceil(self.clip * (1 << self.frac_bits))

    @property
    def scale(self) -> int:
        return 1 << self.frac_bits


@dataclass(frozen=True)
class SecAggConfig:
    """The parameters a job owner fixes once (DESIGN.md, "One round", step 0).

    Clients are slots 0 … n_clients−1. Each client masks with `neighbours` others (the SecAgg+
    graph; rounded up to an even degree and capped at n_clients−1) and Shamir-shares its mask key
    `threshold`-of-degree among them (default: a majority of its neighbours).
    """

    job_id: bytes
    n_clients: int
    model_length: int
    quantization: Quantization = field(default_factory=Quantization)
    max_weight: int = 1 << 16
    neighbours: int = 10
    threshold: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.job_id, bytes) or len(self.job_id) != 32:
            raise InputError("job_id must be 32 bytes")
        check_int("n_clients", self.n_clients, 2, 1 << 20)
        check_int("model_length", self.model_length, 1, 1 << 40)
        check_int("max_weight", self.max_weight, 1, 1 << 32)
        check_int("neighbours", self.neighbours, 1)
        if self.threshold is not None:
            check_int("threshold", self.threshold, 1, self.degree)
        if self.slot_bits > MAX_SLOT_BITS:
            raise BudgetError(
                f"a slot needs {self.slot_bits} bits (bits={self.quantization.bits}, "
                f"max_weight={self.max_weight}, n_clients={self.n_clients}), more than {MAX_SLOT_BITS}"
            )

    @property
    def degree(self) -> int:
        """Mask partners per client: `neighbours` rounded up to even, at most n_clients − 1."""
        return min(self.neighbours + self.neighbours % 2, self.n_clients - 1)

    @property
    def shamir_threshold(self) -> int:
        return self.threshold if self.threshold is not None else self.degree // 2 + 1

    @property
    def max_slot_sum(self) -> int:
        """The largest value a slot can reach: every client at max weight and the top of the range."""
        return self.n_clients * self.max_weight * 2 * self.quantization.offset

    @property
    def slot_bits(self) -> int:
        return self.max_slot_sum.bit_length()

    @property
    def per_element(self) -> int:
        """Quantized values packed into one F_r element."""
        return PACKED_BITS // self.slot_bits

    @property
    def n_elements(self) -> int:
        """Length L of a packed update in F_r elements."""
        return -(-self.model_length // self.per_element)

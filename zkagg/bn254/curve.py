"""G1 and G2 of BN254: single affine points, point arrays, and multi-scalar multiplication.

Coordinates are canonical integers; the point at infinity is (0, 0), as on the EVM. Every point
built from outside data is checked: coordinates < q, on the curve, and (G2) in the order-r
subgroup. Byte encodings are the EVM precompiles' (EIP-196/197): G1 = x || y, G2 =
x.c1 || x.c0 || y.c1 || y.c0, each a 32-byte big-endian word.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar, overload

import numpy as np
import numpy.typing as npt

from ..errors import InputError, LengthError, NonCanonicalError, NotInSubgroupError, NotOnCurveError
from .backend import POINT_LIMBS, Group, MsmPart, get_backend
from .constants import FQ_MODULUS, FR_MODULUS, G1_B, G1_GENERATOR, G2_GENERATOR
from .field import FrArray, first_not_below
from .limbs import Limbs, as_limb_array, bytes_to_ints, ints_to_bytes, ints_to_limbs, limbs_to_ints

Q = FQ_MODULUS
# b of the G2 twist: 3 / (9 + u) in F_q2
_d = pow(81 + 1, -1, Q)
G2_B = (3 * 9 * _d % Q, -3 * _d % Q)


def _fq2_mul(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return ((a[0] * b[0] - a[1] * b[1]) % Q, (a[0] * b[1] + a[1] * b[0]) % Q)


def _on_curve(group: Group, c: Sequence[int]) -> bool:
    """Affine curve equation in plain ints (used to name the failure, not on hot paths)."""
    if not any(c):
        return True
    if group == "g1":
        return (c[1] * c[1] - c[0] ** 3 - G1_B) % Q == 0
    x2, y2 = (c[0], c[1]), (c[2], c[3])
    cube = _fq2_mul(_fq2_mul(x2, x2), x2)
    return _fq2_mul(y2, y2) == ((cube[0] + G2_B[0]) % Q, (cube[1] + G2_B[1]) % Q)


def validate_points(group: Group, limbs: Limbs, name: str, cache: dict[str, Any] | None = None) -> None:
    """Raise unless every row is canonical, on the curve and in the subgroup (infinity allowed).
    `cache`: the point array's engine cache (see Backend.point_check)."""
    bad = first_not_below(limbs.reshape(-1, 4), FQ_MODULUS)
    if bad >= 0:
        raise NonCanonicalError(f"{name}[{bad // (POINT_LIMBS[group] // 4)}] has a coordinate >= q")
    bad = get_backend().point_check(group, limbs, cache)
    if bad >= 0:
        coords = limbs_to_ints(limbs[bad])
        if not _on_curve(group, coords):
            raise NotOnCurveError(f"{name}[{bad}] is not on the {group.upper()} curve")
        raise NotInSubgroupError(f"{name}[{bad}] is not in the order-r subgroup of {group.upper()}")


def _scalar(k: int) -> Limbs:
    if not isinstance(k, int) or isinstance(k, bool):
        raise InputError(f"scalar must be an int, not {type(k).__name__}")
    return ints_to_limbs([k % FR_MODULUS], FR_MODULUS, "scalar")


P = TypeVar("P", bound="_Point")


class _Point:
    """Operations shared by G1Point and G2Point; subclasses define the coordinates."""

    group: ClassVar[Group]
    encoded_size: ClassVar[int]

    def _coords(self) -> list[int]:
        raise NotImplementedError

    @classmethod
    def _from_coords(cls: type[P], c: Sequence[int]) -> P:
        raise NotImplementedError

    def _limbs(self) -> Limbs:
        return ints_to_limbs(self._coords(), FQ_MODULUS, "point").reshape(1, -1)

    @classmethod
    def _from_limbs(cls: type[P], limbs: Limbs) -> P:
        """Wrap an engine result (valid by construction) without validating again."""
        obj = cls.__new__(cls)
        obj.__dict__.update(cls._from_coords(limbs_to_ints(limbs)).__dict__)
        return obj

    def _validate(self) -> None:
        validate_points(self.group, self._limbs(), "point")

    @property
    def is_infinity(self) -> bool:
        return not any(self._coords())

    @classmethod
    def infinity(cls: type[P]) -> P:
        return cls._from_coords([0] * (POINT_LIMBS[cls.group] // 4))

    def __add__(self: P, other: P) -> P:
        if type(other) is not type(self):
            return NotImplemented
        return self._from_limbs(get_backend().point_add(self.group, self._limbs(), other._limbs()))

    def __neg__(self: P) -> P:
        return self._from_limbs(get_backend().point_neg(self.group, self._limbs()))

    def __sub__(self: P, other: P) -> P:
        return self + (-other)

    def double(self: P) -> P:
        return self._from_limbs(get_backend().point_double(self.group, self._limbs()))

    def __mul__(self: P, k: int) -> P:
        """k * P for any int k (taken mod r, the order of the group). Not constant-time: for
        a secret k use `mul_secret`."""
        return self._from_limbs(get_backend().point_mul(self.group, self._limbs(), _scalar(k)))

    __rmul__ = __mul__

    def mul_secret(self: P, k: int) -> P:
        """k * P computed in constant time in k (native engine), for secret scalars."""
        return self._from_limbs(get_backend().point_mul_secret(self.group, self._limbs(), _scalar(k))[0])

    def to_bytes(self) -> bytes:
        """The EVM precompile encoding (infinity encodes as zeros)."""
        c = self._coords()
        if self.group == "g2":
            c = [c[1], c[0], c[3], c[2]]
        return ints_to_bytes(c)

    @classmethod
    def from_bytes(cls: type[P], data: bytes) -> P:
        if len(data) != cls.encoded_size:
            raise LengthError(f"a {cls.group.upper()} point is {cls.encoded_size} bytes, not {len(data)}")
        c = bytes_to_ints(data, 32, "data")
        if cls.group == "g2":
            c = [c[1], c[0], c[3], c[2]]
        return cls._from_coords(c)


@dataclass(frozen=True)
class G1Point(_Point):
    """An affine point of G1 (y^2 = x^3 + 3 over F_q); validated on construction."""

    x: int
    y: int
    group: ClassVar[Group] = "g1"
    encoded_size: ClassVar[int] = 64

    def __post_init__(self) -> None:
        self._validate()

    def _coords(self) -> list[int]:
        return [self.x, self.y]

    @classmethod
    def _from_coords(cls, c: Sequence[int]) -> G1Point:
        return cls(c[0], c[1])

    @classmethod
    def generator(cls) -> G1Point:
        return cls(*G1_GENERATOR)


@dataclass(frozen=True)
class G2Point(_Point):
    """An affine point of G2 (the sextic twist over F_q2); coordinates are (c0, c1) pairs
    meaning c0 + c1*u with u^2 = -1. Validated on construction, subgroup included."""

    x: tuple[int, int]
    y: tuple[int, int]
    group: ClassVar[Group] = "g2"
    encoded_size: ClassVar[int] = 128

    def __post_init__(self) -> None:
        for name in ("x", "y"):
            v = getattr(self, name)
            if not (isinstance(v, tuple) and len(v) == 2):
                raise InputError(f"G2Point.{name} must be a (c0, c1) tuple")
        self._validate()

    def _coords(self) -> list[int]:
        return [*self.x, *self.y]

    @classmethod
    def _from_coords(cls, c: Sequence[int]) -> G2Point:
        return cls((c[0], c[1]), (c[2], c[3]))

    @classmethod
    def generator(cls) -> G2Point:
        return cls(*G2_GENERATOR)


A = TypeVar("A", bound="_PointArray[Any]")


class _PointArray(Generic[P]):
    """An immutable array of affine points backed by an (n, limbs) uint64 array (canonical)."""

    point_type: ClassVar[type[_Point]]
    __slots__ = ("_limbs", "_cache")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, limbs: npt.ArrayLike) -> None:
        g = self.point_type.group
        arr = as_limb_array(limbs, POINT_LIMBS[g], "limbs").copy()
        self._cache: dict[str, Any] = {}
        validate_points(g, arr, "points", self._cache)
        arr.flags.writeable = False
        self._limbs = arr

    @classmethod
    def _trusted(cls: type[A], limbs: Limbs) -> A:
        obj = cls.__new__(cls)
        limbs.flags.writeable = False
        obj._limbs = limbs
        obj._cache = {}
        return obj

    @classmethod
    def from_points(cls: type[A], points: Iterable[Any]) -> A:
        pts = list(points)
        for i, p in enumerate(pts):
            if type(p) is not cls.point_type:
                raise InputError(f"points[{i}] is not a {cls.point_type.__name__}")
        width = POINT_LIMBS[cls.point_type.group]
        if not pts:
            return cls._trusted(np.zeros((0, width), dtype=np.uint64))
        return cls._trusted(np.concatenate([p._limbs() for p in pts]))

    @classmethod
    def from_bytes(cls: type[A], data: bytes) -> A:
        size = cls.point_type.encoded_size
        if len(data) % size:
            raise LengthError(f"points are {size} bytes each; {len(data)} bytes is not a multiple")
        c = bytes_to_ints(data, 32, "data")
        if cls.point_type.group == "g2":
            c = [c[i ^ 1] for i in range(len(c))]  # EVM order is (c1, c0) per coordinate
        width = POINT_LIMBS[cls.point_type.group]
        return cls(ints_to_limbs(c, 2**256, "data").reshape(-1, width))

    @property
    def limbs(self) -> Limbs:
        return self._limbs

    def to_bytes(self) -> bytes:
        return b"".join(p.to_bytes() for p in self)

    def __len__(self) -> int:
        return len(self._limbs)

    @overload
    def __getitem__(self, i: int) -> P: ...
    @overload
    def __getitem__(self: A, i: slice) -> A: ...
    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return self._trusted(self._limbs[i].copy())
        return self.point_type._from_limbs(self._limbs[i])

    def __iter__(self):  # type: ignore[no-untyped-def]
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return bool(np.array_equal(self._limbs, other._limbs))  # type: ignore[attr-defined]

    def __add__(self: A, other: A) -> A:
        """Element-wise sum."""
        self._same_length(other)
        g = self.point_type.group
        return self._trusted(get_backend().point_add(g, self._limbs, other._limbs))

    def scalar_mul(self: A, scalars: FrArray) -> A:
        """Element-wise k_i * P_i. Not constant-time: for secret scalars use `scalar_mul_secret`."""
        self._same_length(scalars)
        return self._trusted(get_backend().point_mul(self.point_type.group, self._limbs, scalars.limbs))

    def scalar_mul_secret(self: A, scalars: FrArray) -> A:
        """Element-wise k_i * P_i in constant time in the scalars (native engine): for secret
        scalars and public points, e.g. a key rescaled by a ceremony's secret factor."""
        self._same_length(scalars)
        return self._trusted(get_backend().point_mul_secret(self.point_type.group, self._limbs, scalars.limbs))

    def msm(self, scalars: FrArray) -> P:
        """sum_i k_i * P_i (Pippenger in the native core)."""
        self._same_length(scalars)
        g = self.point_type.group
        result = get_backend().msm(g, self._limbs, scalars.limbs, self._cache)
        return self.point_type._from_limbs(result[0])  # type: ignore[return-value]

    def _same_length(self, other: object) -> None:
        if not isinstance(other, (FrArray, _PointArray)):
            raise InputError(f"expected an array, not {type(other).__name__}")
        if len(other) != len(self):
            raise LengthError(f"length mismatch: {len(self)} and {len(other)}")


class G1Array(_PointArray[G1Point]):
    point_type = G1Point


class G2Array(_PointArray[G2Point]):
    point_type = G2Point


def msm(points: G1Array | G2Array, scalars: FrArray) -> G1Point | G2Point:
    """Multi-scalar multiplication sum_i scalars[i] * points[i]."""
    return points.msm(scalars)


@overload
def fixed_base_mul(base: G1Point, scalars: FrArray) -> G1Array: ...
@overload
def fixed_base_mul(base: G2Point, scalars: FrArray) -> G2Array: ...
def fixed_base_mul(base: G1Point | G2Point, scalars: FrArray) -> G1Array | G2Array:
    """[k_0 * base, k_1 * base, ...] for one public base and many SECRET scalars (a trusted
    setup's toxic waste): constant-time in the scalars on the native engine, and much faster
    than `scalar_mul` on copies of the base (precomputed multiples of the base, no doublings).
    The point at infinity comes out for scalars that are 0."""
    if not isinstance(scalars, FrArray):
        raise InputError(f"scalars must be an FrArray, not {type(scalars).__name__}")
    if isinstance(base, G1Point):
        return G1Array._trusted(get_backend().point_fixed_base_mul("g1", base._limbs(), scalars.limbs))
    if isinstance(base, G2Point):
        return G2Array._trusted(get_backend().point_fixed_base_mul("g2", base._limbs(), scalars.limbs))
    raise InputError(f"base must be a G1Point or a G2Point, not {type(base).__name__}")


def msm_many(queries: Sequence[tuple[G1Array | G2Array, FrArray, int]]) -> list[Any]:
    """Several MSMs at once: for each (points, scalars, offset), sum_i scalars[offset + i] *
    points[i] (a G1Point or G2Point). The MSMs over one FrArray object share its recoding, and
    all of them share the threads: e.g. a Groth16 proof's A, B and L over one witness."""
    vectors: list[FrArray] = []
    parts = []
    for j, q in enumerate(queries):
        if not (isinstance(q, tuple) and len(q) == 3):
            raise InputError(f"queries[{j}] must be (points, scalars, offset)")
        points, scalars, offset = q
        if not isinstance(points, (G1Array, G2Array)) or not isinstance(scalars, FrArray):
            raise InputError(f"queries[{j}] must pair a G1Array or G2Array with an FrArray")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise InputError(f"queries[{j}] offset must be an int >= 0")
        if offset + len(points) > len(scalars):
            raise LengthError(f"queries[{j}]: {len(points)} points from offset {offset} exceed "
                              f"{len(scalars)} scalars")
        v = next((i for i, x in enumerate(vectors) if x is scalars), len(vectors))
        if v == len(vectors):
            vectors.append(scalars)
        parts.append(MsmPart(points.point_type.group, points.limbs, v, offset, points._cache))
    results = get_backend().msm_many([v.limbs for v in vectors], parts)
    return [q[0].point_type._from_limbs(r[0]) for q, r in zip(queries, results)]

"""BN254 (alt_bn128): F_r vectors, NTT, G1/G2 points and MSM, on the native core by default.

`ZKAGG_BACKEND=reference` (or `use_backend("reference")`) runs the readable pure-Python twin.
"""

from .backend import Backend, get_backend, make_backend, native_module, use_backend
from .constants import FQ_MODULUS, FR_MODULUS
from .curve import G1Array, G1Point, G2Array, G2Point, fixed_base_mul, msm, msm_many
from .field import FrArray, ntt

__all__ = [
    "FQ_MODULUS",
    "FR_MODULUS",
    "Backend",
    "FrArray",
    "G1Array",
    "G1Point",
    "G2Array",
    "G2Point",
    "fixed_base_mul",
    "get_backend",
    "make_backend",
    "msm",
    "msm_many",
    "native_module",
    "ntt",
    "use_backend",
]

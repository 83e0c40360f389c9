"""Loads the native core (cffi extension modules built from native/).

Two variants are built: `_native_asm` (MULX/ADX assembly, x86-64) and `_native_c` (portable C).
`ZKAGG_NATIVE` chooses: `auto` (default: asm when the CPU has BMI2 and ADX), `asm` or `portable`.
"""

from __future__ import annotations

import importlib
import os
import platform
from functools import cache
from types import ModuleType

from .errors import NativeError

VARIANTS = {"asm": "zkagg._native_asm", "portable": "zkagg._native_c"}

BUILD_HINT = (
    "the native core of zkagg is not built; reinstall with `pip install -e .` (needs a C compiler "
    "and the Python headers), or set ZKAGG_BACKEND=reference to use the slow pure-Python path"
)


def cpu_has_asm_features() -> bool:
    """True when the CPU has the BMI2 (MULX) and ADX (ADCX/ADOX) instructions the asm path uses."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return {"bmi2", "adx"} <= flags
    except OSError:
        pass
    return False


def variant_name() -> str:
    choice = os.environ.get("ZKAGG_NATIVE", "auto").lower()
    if choice == "auto":
        return "asm" if cpu_has_asm_features() else "portable"
    if choice not in VARIANTS:
        raise NativeError(f"ZKAGG_NATIVE must be auto, asm or portable, not {choice!r}")
    if choice == "asm" and not cpu_has_asm_features():
        raise NativeError("ZKAGG_NATIVE=asm but this CPU lacks BMI2/ADX")
    return choice


@cache
def load(variant: str | None = None) -> ModuleType:
    """The cffi module of a variant (default: the one ZKAGG_NATIVE selects); it has .ffi and .lib."""
    name = variant or variant_name()
    try:
        return importlib.import_module(VARIANTS[name])
    except ImportError as err:
        raise NativeError(f"{BUILD_HINT} ({err})") from err


def available_variants() -> list[str]:
    """Variants that are built and runnable on this CPU."""
    out = []
    for name in VARIANTS:
        if name == "asm" and not cpu_has_asm_features():
            continue
        try:
            load(name)
        except NativeError:
            continue
        out.append(name)
    return out

"""cffi (API mode) build of the native core.

Two extension modules are built from the same sources:
  zkagg._native_asm   field multiplication in MULX/ADCX/ADOX inline assembly (x86-64 only)
  zkagg._native_c     portable C with unsigned __int128
zkagg picks the assembly module at start-up when the CPU has BMI2 and ADX (see zkagg/native.py);
keeping both lets the tests compare them and lets ZKAGG_NATIVE=portable force the C path.
"""

from __future__ import annotations

import platform
from pathlib import Path

from cffi import FFI

NATIVE = Path(__file__).resolve().parent
HEADER = NATIVE / "include" / "zkagg.h"
# One translation unit per variant (a unity build): the two variants never share object files,
# and the compiler can inline across the sources. Static names must therefore be unique across
# native/src: prefix them with their file's topic.
SOURCES = sorted(p.name for p in (NATIVE / "src").glob("*.c"))
CFLAGS = ["-O3", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-pthread", "-fno-strict-aliasing"]


def cdef_text() -> str:
    """The public header minus preprocessor lines: the single source of the cffi declarations."""
    lines = [ln for ln in HEADER.read_text().splitlines() if not ln.lstrip().startswith("#")]
    return "\n".join(lines)


def make_ffi(module: str, asm: bool) -> FFI:
    ffi = FFI()
    ffi.cdef(cdef_text())
    unit = f"#define ZKAGG_ASM {int(asm)}\n" + "".join(f'#include "{s}"\n' for s in SOURCES)
    ffi.set_source(
        module,
        unit,
        include_dirs=[str(NATIVE / "include"), str(NATIVE / "src")],
        extra_compile_args=CFLAGS,
        extra_link_args=["-pthread"],
        libraries=["m"],
    )
    return ffi


ASM_SUPPORTED = platform.machine().lower() in ("x86_64", "amd64")

ffi_c = make_ffi("zkagg._native_c", asm=False)
if ASM_SUPPORTED:
    ffi_asm = make_ffi("zkagg._native_asm", asm=True)

if __name__ == "__main__":
    # Build in place for development: python native/build.py
    for ffi in (ffi_c, ffi_asm) if ASM_SUPPORTED else (ffi_c,):
        ffi.compile(tmpdir=str(NATIVE / "build"), verbose=False)

"""Build hook for the native core (cffi API mode); all metadata lives in pyproject.toml."""

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, CompileError, ExecError, LinkError, PlatformError

BUILD_HELP = (
    "zkagg: building the native BN254 core failed: {err}\n"
    "It needs a C compiler (gcc or clang) and the Python development headers; on Debian/Ubuntu:\n"
    "    apt-get install build-essential python3-dev\n"
    "then run the install again."
)


class BuildNative(build_ext):
    def run(self) -> None:
        try:
            super().run()
        except (CCompilerError, CompileError, ExecError, LinkError, PlatformError) as err:
            raise SystemExit(BUILD_HELP.format(err=err)) from err

    def build_extension(self, ext) -> None:  # type: ignore[no-untyped-def]
        try:
            super().build_extension(ext)
        except (CCompilerError, CompileError, ExecError, LinkError, PlatformError) as err:
            raise SystemExit(BUILD_HELP.format(err=err)) from err


setup(
    cffi_modules=["native/build.py:ffi_c", "native/build.py:ffi_asm"],
    cmdclass={"build_ext": BuildNative},
)

from __future__ import annotations

import os

import py_ecc.optimized_bn128  # noqa: F401  (it raises the recursion limit on import)
import pytest
from hypothesis import HealthCheck, settings

from zkagg import native

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile(
    "ci", parent=settings.get_profile("default"), derandomize=True, max_examples=60
)
settings.load_profile("ci" if os.environ.get("CI") else "default")

#: every engine the law tests run on; a missing native build fails loudly rather than skipping
BACKENDS = ["reference"] + [f"native-{v}" for v in native.available_variants()]


def pytest_report_header(config: pytest.Config) -> str:
    return f"zkagg backends: {', '.join(BACKENDS)}"


@pytest.fixture(scope="session", autouse=True)
def native_is_built() -> None:
    if os.environ.get("ZKAGG_BACKEND") != "reference":
        assert "native-portable" in BACKENDS, "the native core is not built: pip install -e ."

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


# ---- test tiers ------------------------------------------------------------------------------
# Markers by file (and by test name prefix), so the fast tier needs no edit of the test files:
# `python -m pytest -m "not slow and not chain and not flower and not fuzz"` takes about a minute.
# "slow" entries were measured above 3 s each (or many seconds together) on the 2-vCPU machine.

_FILE_MARKS: dict[str, tuple[str, ...]] = {
    "test_chain_audit.py": ("chain",),
    "test_chain_failures.py": ("chain",),
    "test_chain_fuzz.py": ("chain", "fuzz"),
    "test_chain_ledger.py": ("chain",),
    "test_chain_v2.py": ("chain",),
    "test_contracts_verifier.py": ("chain",),
    "test_fl_demo.py": ("chain", "slow"),
    "test_flower_protocol.py": ("flower",),
    "test_flower_simulation.py": ("flower", "slow"),
    "test_flower_traps.py": ("flower",),
    "test_flower_chain.py": ("flower", "chain"),
    "test_flower_app.py": ("flower", "slow"),
    "test_readme.py": ("flower", "slow"),  # its examples include a Flower simulation
    "test_fuzz_deserializers.py": ("fuzz",),
    "test_constant_time.py": ("slow",),
    "test_durable_restart.py": ("slow",),
    "test_ray_prover.py": ("slow",),
    "test_ray_v2.py": ("slow",),
}

_SLOW_TESTS = (
    "test_curve_laws.py::test_msm_is_linear_and_equals_the_naive_sum[reference-g2]",
    "test_curve_laws.py::test_group_laws[reference-g2]",
    "test_poseidon.py::test_vectors_match_circomlibjs",
    "test_poseidon.py::test_native_many_threads",
    "test_poseidon.py::test_native_sponge_matches_reference",
    "test_poseidon_gadget.py::test_permutation_matches_reference",
    "test_pairing.py::test_bilinearity[reference]",
    "test_pairing.py::test_product_checks_agree_with_py_ecc",
    "test_cli.py::test_bench_native_quick_writes_json",
    "test_cli_errors.py::test_console_script",
    "test_differential.py::test_msm_agrees_across_engines[g2-64]",
    "test_differential.py::test_large_native_msm_equals_sum_of_products",
    "test_fixed_base.py::test_fixed_base_matches_reference[g2]",
    "test_fl_job.py::test_published_model_is_the_exact_secure_mean_and_within_half_a_step",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        name = f"{item.path.name}::{item.name}"
        for marker in _FILE_MARKS.get(item.path.name, ()):
            item.add_marker(getattr(pytest.mark, marker))
        if name.startswith(_SLOW_TESTS):
            item.add_marker(pytest.mark.slow)

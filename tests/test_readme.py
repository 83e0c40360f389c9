"""The README's Python examples run as written."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest
from ray import cloudpickle

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("readme_example")  # dataclasses look their module up
    monkeypatch.setitem(sys.modules, module.__name__, module)
    # Ray's workers (Flower's simulation) cannot import this module: send its functions by value
    cloudpickle.register_pickle_by_value(module)
    try:
        exec(compile(code, "README.md", "exec"), module.__dict__)
    finally:
        cloudpickle.unregister_pickle_by_value(module)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 2

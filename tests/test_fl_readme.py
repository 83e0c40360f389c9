"""The federated-learning README section's Python example runs as written.

The section lives in zkagg/fl/README-section.md until it is folded into README.md, where
test_readme.py runs every example; this test covers it until then.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

SECTION = Path(__file__).resolve().parents[1] / "zkagg" / "fl" / "README-section.md"
BLOCKS = re.findall(r"```python\n(.*?)```", SECTION.read_text(), flags=re.S) if SECTION.exists() else []


@pytest.mark.skipif(not BLOCKS, reason="the section is folded into README.md (test_readme.py runs it)")
@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_fl_readme_example_runs(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("readme_example")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(code, "README-section.md", "exec"), module.__dict__)
    assert len(code.strip().splitlines()) <= 22  # the example stays short

"""Compare two benchmark JSON files from `zkagg bench ... --json`: every numeric figure present in
both, with the ratio new/old (below 1 is faster for times).

    python benchmarks/compare.py OLD.json NEW.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any


def leaves(obj: Any, prefix: str = "") -> Iterator[tuple[str, float]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaves(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from leaves(v, f"{prefix}[{i}]")
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield prefix, float(obj)


def main(old_path: str, new_path: str) -> None:
    with open(old_path) as f:
        old = dict(leaves(json.load(f)))
    with open(new_path) as f:
        new = dict(leaves(json.load(f)))
    keys = [k for k in new if k in old]
    width = max((len(k) for k in keys), default=0)
    for k in keys:
        ratio = new[k] / old[k] if old[k] else float("nan")
        print(f"{k.ljust(width)}  {old[k]:>12.4g}  {new[k]:>12.4g}  {ratio:6.3f}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

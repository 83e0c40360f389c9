"""The npm peers (snarkjs, circomlibjs, ...) for benchmarks and cross-checks: installed on first
use into a per-user cache, pinned to exact versions. Nothing in zkagg itself needs Node.js."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ..errors import ZkaggError

PINNED = {"snarkjs": "0.7.6", "circomlibjs": "0.1.7", "circom2": "0.2.23", "circomlib": "2.0.5",
          # the chain tools: the Solidity compiler (solcjs) and a local JSON-RPC node for tests
          "solc": "0.8.28", "@foundry-rs/anvil-linux-amd64": "1.7.1"}


class NodeUnavailableError(ZkaggError):
    """node/npm are not installed, or a package could not be installed."""


def cache_dir() -> Path:
    return Path(os.environ.get("ZKAGG_NPM_DIR", Path.home() / ".cache" / "zkagg-npm"))


def package(name: str) -> Path:
    """The install prefix holding node_modules/<name> (installed if missing)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise NodeUnavailableError("node and npm are needed for this peer")
    version = PINNED[name]
    prefix = cache_dir() / f"{name.lstrip('@').replace('/', '-')}-{version}"
    if not (prefix / "node_modules" / name / "package.json").exists():
        prefix.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(prefix),
             f"{name}@{version}"],
            capture_output=True, text=True, timeout=900,
        )
        if proc.returncode != 0:
            raise NodeUnavailableError(f"npm install {name}@{version} failed: {proc.stderr[-2000:]}")
    return prefix


def snarkjs(*args: str, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    """Run the snarkjs CLI; raises with its output when it fails."""
    cli = package("snarkjs") / "node_modules" / "snarkjs" / "build" / "cli.cjs"
    proc = subprocess.run(["node", str(cli), *args], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise NodeUnavailableError(f"snarkjs {args[0]} failed: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return proc


if __name__ == "__main__":  # `python -m zkagg.bench.npm NAME...`: install pinned packages ahead of use
    import sys

    for name in sys.argv[1:] or list(PINNED):
        print(f"{name}@{PINNED[name]}: {package(name)}")

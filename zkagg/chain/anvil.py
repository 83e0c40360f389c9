"""A local anvil node (npm `@foundry-rs/anvil-linux-amd64`, pinned) on 127.0.0.1, for tests and
benchmarks against a real JSON-RPC node. Installed on first use like the other npm peers."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from web3 import Web3

from ..bench import npm
from .client import ChainError

PACKAGE = "@foundry-rs/anvil-linux-amd64"


def binary() -> str:
    return str(npm.package(PACKAGE) / "node_modules" / PACKAGE / "bin" / "anvil")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def anvil(*, gas_limit: int = 60_000_000, timeout: float = 30.0, extra: tuple[str, ...] = ()) -> Iterator[str]:
    """Run anvil on a free loopback port; yields its URL and stops it afterwards. `extra`: more
    anvil flags (e.g. "--steps-tracing" for opcode traces)."""
    port = _free_port()
    proc = subprocess.Popen(
        [binary(), "--host", "127.0.0.1", "--port", str(port), "--gas-limit", str(gas_limit),
         "--hardfork", "prague", "--silent", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while not Web3(Web3.HTTPProvider(url)).is_connected():
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise ChainError(f"anvil exited with {proc.returncode}: {err[-2000:]}")
            if time.monotonic() > deadline:
                raise ChainError(f"anvil did not answer on {url} within {timeout} s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

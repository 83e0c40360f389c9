"""Checking a Ray cluster address before joining it (without importing Ray).

`ray.init` waits a long time for a head node that is not there (its own reconnection timeouts),
so an address is first probed with one bounded TCP connection: a cluster that does not answer is
refused by name within `timeout` seconds.
"""

from __future__ import annotations

import socket

from ..errors import TransportError

#: how long a probe of the head node may take
PROBE_TIMEOUT_S = 5.0


class ClusterError(TransportError):
    """A Ray cluster address is malformed, does not answer, or Ray refused to join it."""


def host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of "host:port" or "ray://host:port"; None for "auto" and "local" (no probe)."""
    if address in ("auto", "local"):
        return None
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ClusterError(f"a Ray address is host:port, ray://host:port, 'auto' or 'local', not {address!r}")
    return host.strip("[]"), int(port)


def check_reachable(address: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """ClusterError unless the head node at `address` accepts a TCP connection within `timeout`."""
    target = host_port(address)
    if target is None:
        return
    try:
        with socket.create_connection(target, timeout=timeout):
            pass
    except OSError as err:
        reason = "no answer" if isinstance(err, TimeoutError) else (err.strerror or type(err).__name__)
        raise ClusterError(f"the Ray cluster at {address} does not answer ({reason}) within {timeout:g} s") from None

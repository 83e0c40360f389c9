"""How zkagg talks to a JSON-RPC node: bounded time, retries with backoff, progress, one error.

A node that dies or freezes must not hang a round or end it in a chain of library tracebacks.
Every request has a time budget (`Timeouts.request_s`) shared by all its attempts; a transient
failure (connection refused or reset, a timeout, an HTTP 5xx/429) is retried with exponential
backoff while the budget lasts, and a node that never answers ends in one `ChainError` naming the
node's URL, the JSON-RPC method and what zkagg was doing (`doing`). Waiting for a receipt is
bounded by `Timeouts.receipt_s` and reports progress through a callback.

Retrying is safe for reads and for `eth_sendRawTransaction` when the request never reached the
node (connection refused); a send whose answer was lost (read timeout) is not repeated: it
ends in ChainError and the caller's own recovery decides (the durable aggregator reads the ledger
before writing again).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from web3 import Web3
from web3.providers.rpc import HTTPProvider

from ..errors import InputError, TransportError

#: what zkagg is doing with the node (set by `doing`, named in ChainError)
_doing: contextvars.ContextVar[str] = contextvars.ContextVar("zkagg_chain_doing", default="")

Progress = Callable[[str], None]


class ChainError(TransportError):
    """The node refused or failed a request (not a contract revert), or did not answer in time."""


@dataclass(frozen=True)
class Timeouts:
    """Time bounds of one node connection, in seconds.

    request_s: budget of one JSON-RPC request, all its attempts and backoff included.
    receipt_s: how long to wait for a sent transaction's receipt.
    backoff_s: pause before the first retry, doubled each time, at most `max_backoff_s`.
    progress_s: how often a long wait reports progress.
    """

    request_s: float = 30.0
    receipt_s: float = 120.0
    backoff_s: float = 0.25
    max_backoff_s: float = 4.0
    poll_s: float = 0.1
    progress_s: float = 5.0

    def __post_init__(self) -> None:
        for name in ("request_s", "receipt_s", "backoff_s", "max_backoff_s", "poll_s", "progress_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e6:
                raise InputError(f"Timeouts.{name} must be a number of seconds in (0, 1e6), not {value!r}")


@contextmanager
def doing(what: str) -> Iterator[None]:
    """Name the operation in progress for any ChainError raised inside (innermost wins)."""
    token = _doing.set(what)
    try:
        yield
    finally:
        _doing.reset(token)


def describe(url: str, method: str) -> str:
    what = _doing.get()
    return f"node {url}, {method}" + (f" ({what})" if what else "")


_CONNECT_ERRORS = (requests.ConnectionError,)  # the request did not reach the node (ConnectTimeout too)
_TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.HTTPError)


def _never_reached(err: Exception) -> bool:
    """True when the node cannot have seen the request (safe to resend a transaction)."""
    if isinstance(err, requests.ConnectTimeout):
        return True
    return isinstance(err, _CONNECT_ERRORS) and not isinstance(err, requests.ReadTimeout) \
        and "Connection refused" in str(err)


def _reason(err: Exception) -> str:
    if isinstance(err, requests.Timeout):
        return "no answer in time"
    if isinstance(err, requests.HTTPError) and err.response is not None:
        return f"HTTP {err.response.status_code}"
    text = str(err)
    for known in ("Connection refused", "Connection reset", "Remote end closed", "Connection aborted"):
        if known in text:
            return known.lower()
    return type(err).__name__


class BoundedHTTPProvider(HTTPProvider):
    """web3's HTTP provider with a per-request time budget, retries with backoff and ChainError."""

    def __init__(self, url: str, timeouts: Timeouts, progress: Progress | None = None) -> None:
        super().__init__(url, exception_retry_configuration=None)
        self.url, self.timeouts, self.progress = url, timeouts, progress

    def _make_request(self, method: Any, request_data: bytes) -> bytes:
        t = self.timeouts
        deadline = time.monotonic() + t.request_s
        pause, attempt = t.backoff_s, 0
        while True:
            attempt += 1
            remaining = deadline - time.monotonic()
            kwargs = dict(self.get_request_kwargs())
            kwargs["timeout"] = max(remaining, 0.05)  # each of connect and read
            try:
                response = self._request_session_manager.get_response_from_post_request(
                    self.endpoint_uri, data=request_data, **kwargs)  # type: ignore[arg-type]
                response.raise_for_status()
                return bytes(response.content)
            except _TRANSIENT as err:
                status = err.response.status_code if isinstance(err, requests.HTTPError) and \
                    err.response is not None else None
                if status is not None and status < 500 and status != 429:
                    raise ChainError(f"{describe(self.url, method)}: HTTP {status}") from None
                resend_risky = method == "eth_sendRawTransaction" and not _never_reached(err)
                left = deadline - time.monotonic()
                if resend_risky or left <= pause:
                    raise ChainError(
                        f"{describe(self.url, method)}: {_reason(err)} after {attempt} attempt"
                        f"{'s' if attempt > 1 else ''} in {t.request_s - max(left, 0):.1f} s "
                        f"(request budget {t.request_s:g} s)") from None
                if self.progress is not None:
                    self.progress(f"{describe(self.url, method)}: {_reason(err)}, retrying in {pause:g} s")
                time.sleep(pause)
                pause = min(2 * pause, t.max_backoff_s)


def connect_web3(url: str, timeouts: Timeouts, progress: Progress | None = None) -> Web3:
    """A Web3 over `BoundedHTTPProvider`; ChainError if the URL is malformed."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ChainError(f"a node URL starts with http:// or https://, not {url!r}")
    return Web3(BoundedHTTPProvider(url, timeouts, progress))


def wait_for_receipt(w3: Web3, tx_hash: Any, url: str, timeouts: Timeouts,
                     progress: Progress | None = None) -> Any:
    """Poll the node for a receipt until `timeouts.receipt_s`, reporting progress; ChainError when
    none arrives in time."""
    from web3.exceptions import TransactionNotFound

    started = time.monotonic()
    next_report = started + timeouts.progress_s
    poll = timeouts.poll_s
    while True:
        try:
            return w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            pass
        now = time.monotonic()
        waited = now - started
        if waited >= timeouts.receipt_s:
            raise ChainError(f"{describe(url, 'eth_getTransactionReceipt')}: no receipt for "
                             f"0x{bytes(tx_hash).hex()} within {timeouts.receipt_s:g} s")
        if progress is not None and now >= next_report:
            progress(f"waiting for transaction 0x{bytes(tx_hash).hex()[:12]}… "
                     f"({waited:.0f} s of {timeouts.receipt_s:g} s)")
            next_report = now + timeouts.progress_s
        time.sleep(min(poll, max(timeouts.receipt_s - waited, 0.0)))
        poll = min(2 * poll, 1.0)

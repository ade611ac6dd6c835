"""Retry with exponential backoff around JSON-RPC calls that fail for transport reasons.

Only transport failures are retried (the node is down, restarting, or slow): connection
refused or reset, timeouts, HTTP 5xx. A revert, a bad argument or a decoding error is not
transient and propagates at once. Delays grow ``initial * factor**k`` up to ``max_delay``,
with up to 25% jitter so several keepers do not hammer a recovering node in step; after
``deadline`` seconds the last error propagates (:class:`RpcUnavailable`).

Sends are wrapped by the caller, not here: re-sending a transaction is only safe after
checking the chain for its effect (see :meth:`calcm.keeper.submission.Submitter._send`).
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

import requests

T = TypeVar("T")


class RpcUnavailable(RuntimeError):
    """The node stayed unreachable for the whole retry deadline."""


@dataclass(frozen=True)
class Backoff:
    """Retry schedule: seconds (``initial``, ``max_delay``, ``deadline``) and growth ``factor``."""

    initial: float = 0.25
    factor: float = 2.0
    max_delay: float = 5.0
    deadline: float = 120.0

    def delays(self):
        d = self.initial
        while True:
            yield min(d, self.max_delay) * (1 + 0.25 * random.random())
            d *= self.factor


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a transport failure worth retrying."""
    from web3.exceptions import TimeExhausted
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                        ConnectionError, TimeoutError, TimeExhausted)):
        return True
    if isinstance(exc, requests.exceptions.HTTPError):
        resp = exc.response
        return resp is None or resp.status_code >= 500
    return False


def retrying(fn: Callable[[], T], what: str, backoff: Backoff = Backoff(),
             on_retry: Callable[[str, BaseException, float, int], None] | None = None) -> T:
    """``fn()``, retried on transient errors per ``backoff``; ``on_retry(what, exc, delay,
    attempt)`` is called before each sleep (logging, metrics)."""
    start = time.monotonic()
    attempt = 0
    for delay in backoff.delays():
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - filtered by is_transient
            if not is_transient(exc):
                raise
            attempt += 1
            if time.monotonic() - start + delay > backoff.deadline:
                raise RpcUnavailable(f"{what}: node unreachable for {backoff.deadline:.0f} s "
                                     f"({exc.__class__.__name__})") from exc
            if on_retry is not None:
                on_retry(what, exc, delay, attempt)
            time.sleep(delay)
    raise AssertionError("unreachable")

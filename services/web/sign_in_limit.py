"""Failed sign-ins per network, for the staff console and the platform console alike.

Only failures count: an office NAT or a police station puts many staff behind one address, and
their successful sign-ins must never lock each other out (each account also locks after 10 of its
own failures). A network over the limit is refused before any password is checked."""
from __future__ import annotations

from typing import Callable, TypeVar

from services.lib import ratelimit
from services.web.request_info import client_ip

FAILURES_PER_NETWORK = 30
WINDOW_SECONDS = 15 * 60
MESSAGE = "There have been too many failed sign-in attempts from your network. Wait 15 minutes and try again."

T = TypeVar("T")


def limited_sign_in(sign_in: Callable[[], T]) -> T:
    """Run `sign_in()` (an outcome with `.error`) under the network's limit; raise the outcome's error."""
    key = f"sign-in:{ratelimit.network_key(client_ip())}"
    ratelimit.check(key, limit=FAILURES_PER_NETWORK, window_seconds=WINDOW_SECONDS, message=MESSAGE)
    outcome = sign_in()
    if outcome.error:
        ratelimit.count(key, window_seconds=WINDOW_SECONDS)
        raise outcome.error
    return outcome

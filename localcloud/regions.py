"""Regions of the local cloud: each gets its own loopback address.

A client learns which region serves it only through DNS, as on AWS: the
execute-api and custom-domain names of region R resolve to R's address, where
R's gateway listens. Linux routes all of 127.0.0.0/8 to loopback; macOS only
configures 127.0.0.1, so there each address needs an alias first
(``sudo ifconfig lo0 alias 127.10.0.N up``, see docs/design.md).

Any region name a client uses is served: the control plane reports every
region it sees in a request's SigV4 scope, and listeners (gateways) subscribe.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from typing import Callable

from awsfacts.regions import known_regions

log = logging.getLogger(__name__)

BASE = ipaddress.IPv4Address("127.10.0.1")
GATEWAY_NETWORK = ipaddress.IPv4Network("127.10.0.0/16")  # every region's gateway address lies in it
_EXECUTE_API_RE = re.compile(r"^([a-z0-9-]+)\.execute-api\.([a-z0-9-]+)\.amazonaws\.com\.?$")


def execute_api_name(name: str) -> tuple[str, str] | None:
    """``(label, region)`` of ``{label}.execute-api.{region}.amazonaws.com``, else None.

    The label is an API id, or a custom domain's regional target (``d-…``); a
    trailing dot (a DNS name) and any letter case are accepted.
    """
    match = _EXECUTE_API_RE.match(name.lower())
    return (match.group(1), match.group(2)) if match else None


class RegionRegistry:
    """Loopback address per region, and callbacks for regions seen for the first time."""

    def __init__(self) -> None:
        self._known = known_regions()
        self._index = {name: i for i, name in enumerate(self._known)}
        self._extra: list[str] = []
        self._active: set[str] = set()
        self._listeners: list[Callable[[str], None]] = []
        self._lock = threading.RLock()

    def is_known(self, region: str) -> bool:
        """True for a region name botocore knows (``known_regions``)."""
        return region in self._index

    def address(self, region: str) -> str:
        """The loopback address of ``region`` (stable for known regions)."""
        with self._lock:
            index = self._index.get(region)
            if index is None:
                if region not in self._extra:
                    self._extra.append(region)
                index = len(self._known) + self._extra.index(region)
        return str(BASE + index)

    def gateway_addresses(self) -> dict[str, str]:
        """Region -> loopback address, for every region botocore knows and every other one seen so far."""
        with self._lock:
            regions = self._known + self._extra
        return {region: self.address(region) for region in regions}

    def region_of(self, address: str) -> str | None:
        """The region whose address is ``address``, if any."""
        try:
            index = int(ipaddress.IPv4Address(address)) - int(BASE)
        except ValueError:
            return None
        if 0 <= index < len(self._known):
            return self._known[index]
        index -= len(self._known)
        return self._extra[index] if 0 <= index < len(self._extra) else None

    def subscribe(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(region)`` for every active region, now and when new ones appear."""
        with self._lock:
            self._listeners.append(callback)
            active = sorted(self._active)
        for region in active:
            callback(region)

    def ensure(self, region: str) -> None:
        """Mark ``region`` as in use (idempotent and cheap: called on every API request)."""
        if region in self._active:
            return
        with self._lock:
            if region in self._active:
                return
            self._active.add(region)
            listeners = list(self._listeners)
        log.info("region %s is in use (address %s)", region, self.address(region))
        for callback in listeners:
            try:
                callback(region)
            except Exception:  # one failing listener must not stop the others
                log.exception("starting %s for region %s failed", getattr(callback, "__qualname__", callback), region)

    @property
    def active(self) -> list[str]:
        with self._lock:
            return sorted(self._active)

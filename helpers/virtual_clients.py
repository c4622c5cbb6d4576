"""The chaos step's virtual clients: a resolver and an HTTP client as ``helpers.client_model`` describes them.

One request is one resolution (or a cache hit) and a connection to exactly
the address that resolution gave; the row it records names that address, the
region the address belongs to (``resolved_region``) and the region that
served the request (``served_region``, from the item's own ``origin_region``).
The two can only differ if a region's gateway answered for another region,
which would be a bug worth seeing, never a second resolution.
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any, Callable

from helpers.client_model import ClientModel
from helpers.clients import Answer, HttpClient, resolve
from helpers.config import Config

# A client gives up on a request after this many real seconds (handlers run at real speed, so this
# is not scaled); a refused connection or a 429 fails at once anyway.
CLIENT_TIMEOUT_S = 5.0


def client_model(cfg: Config) -> ClientModel:
    """The client model the parameters ask for (``client_dns_cache``, ``client_on_failure``)."""
    return ClientModel(cfg.client_dns_cache, cfg.client_on_failure)


class ModelResolver:
    """A client's stub resolver with the model's cache: TTL, a fixed duration (AWS seconds, scaled) or none.

    The virtual clients stand for a population that was running before the experiment began, so
    their caches are of random age: with ``random_start`` the first answer is kept for a uniformly
    random part of its lifetime, every later one for all of it. (Clients that all resolved in
    the same second would otherwise expire together, and a 60 s TTL would move them as one.)
    """

    def __init__(self, cfg: Config, model: ClientModel, clock: Callable[[], float] = time.monotonic,
                 lookup: Callable[[str], Answer] | None = None, random_start: bool = True):
        self.cfg = cfg
        self.model = model
        self._clock = clock
        self._lookup = lookup or (lambda name: resolve(cfg, name))
        self._cache: dict[str, tuple[float, Answer]] = {}
        self._random_start = random.Random() if random_start else None

    def lookup(self, name: str) -> tuple[Answer, bool]:
        """(answer, True when it was asked of DNS now; False when it came from the cache)."""
        now = self._clock()
        hit = self._cache.get(name)
        if hit and hit[0] > now:
            return hit[1], False
        answer = self._lookup(name)
        # The answer's TTL is on the wire already scaled; a fixed cache is a duration in AWS seconds.
        keep = answer.ttl if self.model.dns_cache == "ttl" else self.cfg.scaled(self.model.cache_s(answer.ttl))
        if self._random_start is not None and name not in self._cache:
            keep *= self._random_start.random()
        if keep > 0:
            self._cache[name] = (now + keep, answer)
        return answer, True

    def forget(self, name: str) -> None:
        self._cache.pop(name, None)


class VirtualClient:
    """One client: its own resolver cache and connections; ``post`` sends one request (and at most one retry)."""

    def __init__(self, cfg: Config, model: ClientModel, region_of: Callable[[str | None], str | None],
                 index: int = 0):
        self.cfg = cfg
        self.model = model
        self.index = index
        self.region_of = region_of
        self.resolver = ModelResolver(cfg, model)
        self.http = HttpClient(cfg, timeout=CLIENT_TIMEOUT_S)

    def _attempt(self, url: str, host: str, payload: dict[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {"address": None, "resolved_region": None, "served_region": None}
        try:
            answer, fresh = self.resolver.lookup(host)
            row["resolved"] = fresh
            if not answer.addresses:
                raise LookupError(f"{host} resolves to {', '.join(answer.cnames)} but to no address")
            row["address"] = answer.addresses[0]
            row["resolved_region"] = self.region_of(row["address"])
            response = self.http.request_to(row["address"], "POST", url, json_body=payload)
            row["status"] = response.status
            try:
                body = response.json() if response.body else {}
            except ValueError:  # not JSON (an HTML error page, say): keep the status, note the body
                body = {"message": response.body[:200].decode(errors="replace")}
            body = body if isinstance(body, dict) else {}
            ok = 200 <= response.status < 300
            row["served_region"] = body.get("origin_region") if ok else None
            row["error"] = "" if ok else str(body.get("message", ""))[:200]
        except Exception as error:  # connection refused, timeouts: the client saw an error
            row.update(status=0, error=f"{type(error).__name__}: {error}"[:200])
        return row

    def post(self, url: str, item_id: str, seq: int) -> dict[str, Any]:
        """POST one item; the row says where it went, what answered, and whether it was retried."""
        host = url.split("/")[2].split(":")[0]
        payload = {"item_id": item_id, "client": self.index, "seq": seq}
        row = self._attempt(url, host, payload)
        row["retried_from"] = ""
        if self.model.on_failure == "retry" and not 200 <= row["status"] < 300:
            first = row
            self.resolver.forget(host)
            row = self._attempt(url, host, payload)
            row["retried_from"] = first["resolved_region"] or ""
            row["first_error"] = first["error"]
        return row

    def close(self) -> None:
        self.http.close()


def new_item_id(client: int, seq: int) -> str:
    return f"c{client}-{seq}-{uuid.uuid4().hex[:6]}"

"""The client model: validated before anything is created, one resolution per attempt, the address used is recorded."""

from __future__ import annotations

import pytest

from helpers.client_model import DNS_CACHE_MODES, ON_FAILURE_MODES, ClientModel
from helpers.clients import Answer, HttpResponse
from helpers.config import ConfigError, validate
from helpers.virtual_clients import ModelResolver, VirtualClient

REGIONS = {"10.0.0.1": "eu-west-1", "10.0.0.2": "eu-central-1"}


@pytest.mark.parametrize(("name", "allowed"), [("client_dns_cache", DNS_CACHE_MODES),
                                               ("client_on_failure", ON_FAILURE_MODES)])
def test_an_unknown_client_model_value_is_refused_with_the_allowed_values(name, allowed):
    with pytest.raises(ConfigError) as refused:
        validate({name: "forever"})
    assert name in str(refused.value) and all(value in str(refused.value) for value in allowed)
    with pytest.raises(ValueError, match="allowed values"):
        ClientModel(**{name.removeprefix("client_"): "forever"})


class _Dns:
    def __init__(self, *addresses: str, ttl: int = 1):
        self.answers = list(addresses)
        self.ttl = ttl
        self.asked = 0

    def __call__(self, name: str) -> Answer:
        self.asked += 1
        return Answer(name, (self.answers[min(self.asked, len(self.answers)) - 1],), self.ttl)


@pytest.mark.parametrize(("mode", "kept_for"), [("ttl", 1.0), ("fixed", 30 * 0.1), ("none", 0.0)])
def test_the_resolver_keeps_an_answer_as_long_as_the_model_says(mode, kept_for):
    now = [0.0]
    cfg = validate({"time_scale": 0.1, "client_dns_cache": mode})
    dns = _Dns("10.0.0.1", "10.0.0.2")
    resolver = ModelResolver(cfg, ClientModel(mode), clock=lambda: now[0], lookup=dns, random_start=False)
    assert resolver.lookup("api") == (Answer("api", ("10.0.0.1",), 1), True)
    now[0] = kept_for - 0.01
    assert resolver.lookup("api")[1] is (mode == "none"), "asked again only once the answer expired"
    now[0] = kept_for + 0.01
    assert resolver.lookup("api")[0].addresses == ("10.0.0.2",)


def test_clients_join_with_caches_of_random_age_so_they_do_not_expire_together():
    cfg = validate({"time_scale": 0.1})
    firsts = []
    for _ in range(40):
        now = [0.0]
        resolver = ModelResolver(cfg, ClientModel("ttl"), clock=lambda: now[0], lookup=_Dns("10.0.0.1", "10.0.0.2", ttl=6))
        resolver.lookup("api")
        while not resolver.lookup("api")[1]:
            now[0] += 0.01
        firsts.append(now[0])
        asked_again_at = now[0]
        while not resolver.lookup("api")[1]:
            now[0] += 0.01
        assert now[0] - asked_again_at == pytest.approx(6, abs=0.02), "every later answer is kept for its TTL"
    assert min(firsts) < 1.5 and max(firsts) > 4.5, "the first answers expire anywhere within the TTL"


class _Http:
    def __init__(self, statuses: list[int]):
        self.statuses = statuses
        self.addresses: list[str] = []

    def request_to(self, address, method, url, json_body=None):
        self.addresses.append(address)
        status = self.statuses[len(self.addresses) - 1]
        body = b'{"origin_region": "%s"}' % REGIONS[address].encode() if status == 201 else b'{"message": "throttled"}'
        return HttpResponse(status, {}, body, address)

    def close(self):
        pass


def _client(on_failure: str, dns: _Dns, statuses: list[int]) -> tuple[VirtualClient, _Http]:
    cfg = validate({"time_scale": 0.1, "client_on_failure": on_failure, "client_dns_cache": "ttl"})
    client = VirtualClient(cfg, ClientModel("ttl", on_failure), REGIONS.get)
    client.resolver = ModelResolver(cfg, client.model, clock=lambda: 0.0, lookup=dns, random_start=False)
    client.http = _Http(statuses)
    return client, client.http


def test_a_request_connects_to_the_address_it_resolved_and_records_it():
    dns = _Dns("10.0.0.1", "10.0.0.2")
    client, http = _client("none", dns, [201, 429])
    row = client.post("https://api.runbook.test:4443/dev/item", "i1", 1)
    assert dns.asked == 1 and http.addresses == ["10.0.0.1"]
    assert row["address"] == "10.0.0.1" and row["resolved_region"] == row["served_region"] == "eu-west-1"
    failed = client.post("https://api.runbook.test:4443/dev/item", "i2", 2)
    assert dns.asked == 1, "the cached answer is used: no second resolution"
    assert failed["status"] == 429 and failed["served_region"] is None and failed["retried_from"] == ""


def test_a_client_that_retries_resolves_again_once_and_records_where_it_failed():
    dns = _Dns("10.0.0.1", "10.0.0.2")
    client, http = _client("retry", dns, [429, 201])
    row = client.post("https://api.runbook.test/dev/item", "i1", 1)
    assert http.addresses == ["10.0.0.1", "10.0.0.2"] and dns.asked == 2
    assert row["retried_from"] == "eu-west-1" and row["served_region"] == row["resolved_region"] == "eu-central-1"
    assert row["first_error"] == "throttled"

"""helpers.domains against the local cloud: hosted zone, ACM certificates, custom domain names, teardown."""

from __future__ import annotations

import pytest

from conftest import make_config
from stand_in import deploy_stand_in_backend
from helpers import domains, teardown
from helpers.clients import Clients
from helpers.domains import (
    CREATED_MARKER, HostedZoneMissing, call_custom_domains, create_custom_domains, custom_domain_targets, delete_certificates,
    delete_custom_domains, delete_hosted_zone_if_created, describe_custom_domains, ensure_hosted_zone,
    find_hosted_zone, request_certificates, wait_for_certificates,
)

@pytest.fixture
def dcfg(localcloud_status, unique):
    """A config with its own hosted zone and domain (tests never share a zone)."""
    return make_config(localcloud_status, stack_name=f"t{unique}", table_name=f"table-{unique}",
                       hosted_zone=f"z{unique}.test", domain_name=f"api.z{unique}.test")


@pytest.fixture
def dclients(dcfg):
    return Clients(dcfg)


def test_ensure_hosted_zone_creates_once_and_marks_the_zone_as_ours(dcfg, dclients):
    first = ensure_hosted_zone(dcfg, dclients)
    again = ensure_hosted_zone(dcfg, dclients)
    assert first.created_now and not again.created_now
    assert domains.created_hosted_zone(dcfg, dclients) == first.id
    assert again.id == first.id and again.created_by_runbook
    tags = dclients.client("route53").list_tags_for_resource(ResourceType="hostedzone", ResourceId=first.id)
    tag_map = {t["Key"]: t["Value"] for t in tags["ResourceTagSet"]["Tags"]}
    assert tag_map[CREATED_MARKER[0]] == CREATED_MARKER[1] and tag_map["runbook:stack"] == dcfg.stack_name


def test_a_missing_zone_is_an_error_when_the_runbook_may_not_create_it(localcloud_status, unique):
    cfg = make_config(localcloud_status, stack_name=f"t{unique}", hosted_zone=f"n{unique}.test",
                      domain_name=f"api.n{unique}.test", create_hosted_zone=False)
    with pytest.raises(HostedZoneMissing, match="create_hosted_zone"):
        ensure_hosted_zone(cfg, Clients(cfg))


def test_a_zone_we_did_not_create_is_used_but_never_deleted(dcfg, dclients, unique):
    dclients.client("route53").create_hosted_zone(Name=dcfg.hosted_zone, CallerReference=f"user-{unique}")
    zone = ensure_hosted_zone(dcfg, dclients)
    assert not zone.created_by_runbook
    assert delete_hosted_zone_if_created(dcfg, dclients)["deleted"] is False
    assert find_hosted_zone(dcfg, dclients) is not None
    assert domains.created_hosted_zone(dcfg, dclients) is None


def test_certificates_are_issued_once_validation_records_are_in_the_zone(dcfg, dclients):
    ensure_hosted_zone(dcfg, dclients)
    requested = request_certificates(dcfg, dclients)
    again = request_certificates(dcfg, dclients)
    assert requested["requested"].all() and not again["requested"].any(), "a re-run reuses the certificates"
    assert (again["certificate_arn"] == requested["certificate_arn"]).all()
    issued = wait_for_certificates(dcfg, dclients, timeout=10)
    assert (issued["status"] == "ISSUED").all()
    assert set(issued.index) == set(dcfg.regions)


def test_waiting_for_certificates_without_their_records_says_what_is_missing(dcfg, dclients):
    ensure_hosted_zone(dcfg, dclients)
    for region in dcfg.regions:
        dclients.client("acm", region).request_certificate(
            DomainName=dcfg.domain_name, ValidationMethod="DNS",
            Tags=[{"Key": k, "Value": v} for k, v in dcfg.tags.items()])
    with pytest.raises(TimeoutError, match=r"PENDING_VALIDATION.*is NOT in zone"):
        wait_for_certificates(dcfg, dclients, timeout=0.5)


def test_custom_domains_map_the_root_to_each_regions_api_over_verified_tls(dcfg, dclients):
    deploy_stand_in_backend(dcfg, dclients)
    ensure_hosted_zone(dcfg, dclients)
    request_certificates(dcfg, dclients)
    wait_for_certificates(dcfg, dclients, timeout=10)
    created = create_custom_domains(dcfg, dclients)
    again = create_custom_domains(dcfg, dclients)
    assert created["created"].all() and not again["created"].any()
    assert (again["base_path_mapping"] == "unchanged").all()

    targets = custom_domain_targets(dcfg, dclients)
    described = describe_custom_domains(dcfg, dclients)
    for region in dcfg.regions:
        regional_name, zone_id = targets[region]
        assert regional_name.startswith("d-") and regional_name.endswith(f".execute-api.{region}.amazonaws.com")
        assert zone_id and described.loc[region, "endpoint_type"] == "REGIONAL"
        assert described.loc[region, "base_path"] == "(none)" and described.loc[region, "stage"] == dcfg.stage
    calls = call_custom_domains(dcfg, dclients)
    for region in dcfg.regions:
        assert calls.loc[region, "status"] == 200, "the custom domain answers over TLS verified with the local CA"
        assert calls.loc[region, "served_by"] == region
        assert dcfg.domain_name in calls.loc[region, "certificate_for"]


def test_teardown_deletes_domains_certificates_and_our_zone_and_tolerates_a_rerun(dcfg, dclients):
    deploy_stand_in_backend(dcfg, dclients)
    ensure_hosted_zone(dcfg, dclients)
    request_certificates(dcfg, dclients)
    wait_for_certificates(dcfg, dclients, timeout=10)
    create_custom_domains(dcfg, dclients)
    listed = teardown.inventory(dcfg, dclients)
    for region in dcfg.regions:  # the inventory sees what the teardown is about to delete
        mine = set(listed.loc[listed["region"] == region, "resource"])
        assert f"domain name {dcfg.domain_name}" in mine
        assert any(resource.startswith("certificate arn:") for resource in mine)

    assert delete_custom_domains(dcfg, dclients)["deleted"].all()
    assert len(delete_certificates(dcfg, dclients)) == len(dcfg.regions)
    assert delete_hosted_zone_if_created(dcfg, dclients)["deleted"] is True
    assert find_hosted_zone(dcfg, dclients) is None
    for region in dcfg.regions:
        assert domains.find_certificate(dcfg, dclients, region) is None
    assert not delete_custom_domains(dcfg, dclients)["deleted"].any()
    assert delete_certificates(dcfg, dclients).empty
    assert delete_hosted_zone_if_created(dcfg, dclients)["deleted"] is False


def test_custom_domains_need_issued_certificates_first(dcfg, dclients):
    ensure_hosted_zone(dcfg, dclients)
    with pytest.raises(RuntimeError, match="wait_for_certificates"):
        create_custom_domains(dcfg, dclients)

"""Route 53 changes: PENDING first, INSYNC after propagation, each with its own id.

Follows: Route 53 API Reference, ChangeResourceRecordSets ("the initial status of a change is PENDING")
and GetChange (INSYNC once the change has propagated to all Route 53 DNS servers); the AWS CLI's
``aws route53 wait resource-record-sets-changed``.
"""

from __future__ import annotations

import json


def test_a_change_is_pending_then_insync_and_the_cli_waiter_sees_it(aws, client, unique):
    zone_id = client("route53").create_hosted_zone(Name=f"changes-{unique}.example.com",
                                                   CallerReference=unique)["HostedZone"]["Id"]
    batch = {"Comment": "first", "Changes": [{"Action": "CREATE", "ResourceRecordSet": {
        "Name": f"www.changes-{unique}.example.com", "Type": "A", "TTL": 60,
        "ResourceRecords": [{"Value": "192.0.2.1"}]}}]}
    first = client("route53").change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch=batch)["ChangeInfo"]
    batch["Changes"][0]["Action"], batch["Comment"] = "UPSERT", "second"
    second = client("route53").change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch=batch)["ChangeInfo"]
    assert first["Status"] == second["Status"] == "PENDING" and first["Id"] != second["Id"]
    assert first["Comment"] == "first"
    assert client("route53").get_change(Id=first["Id"])["ChangeInfo"]["Status"] == "PENDING"
    waited = aws("route53", "wait", "resource-record-sets-changed", "--id", first["Id"])
    assert waited.returncode == 0, waited.stderr
    assert json.loads(aws("route53", "get-change", "--id", first["Id"]).stdout)["ChangeInfo"]["Status"] == "INSYNC"


def test_a_traffic_policy_instance_is_creating_then_applied(client, unique):
    """Follows: Route 53 API Reference, GetTrafficPolicyInstance (State: Applied, Creating or Failed)."""
    import time

    route53 = client("route53")
    zone = f"policy-{unique}.example.com"
    zone_id = route53.create_hosted_zone(Name=zone, CallerReference=unique)["HostedZone"]["Id"]
    document = {"AWSPolicyFormatVersion": "2015-10-01", "RecordType": "A", "StartEndpoint": "only",
                "Endpoints": {"only": {"Type": "value", "Value": "192.0.2.10"}}}
    policy = route53.create_traffic_policy(Name=f"p-{unique}", Document=json.dumps(document))["TrafficPolicy"]
    instance = route53.create_traffic_policy_instance(HostedZoneId=zone_id, Name=f"www.{zone}", TTL=60,
                                                      TrafficPolicyId=policy["Id"],
                                                      TrafficPolicyVersion=policy["Version"])["TrafficPolicyInstance"]
    assert instance["State"] == "Creating"
    for _ in range(100):
        state = route53.get_traffic_policy_instance(Id=instance["Id"])["TrafficPolicyInstance"]["State"]
        if state == "Applied":
            break
        time.sleep(0.1)
    assert state == "Applied"

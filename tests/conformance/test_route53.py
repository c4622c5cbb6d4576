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

"""The consistency lab on the local cloud: tables, the workload in three phases, exact counts, teardown."""

from __future__ import annotations

import pytest

import boto3

from awsfacts.latency import round_trip_ms
from conftest import eventually, in_process_cloud, make_config
from helpers import consistency_report
from helpers.clients import Clients
from helpers.config import ConfigError
from helpers.consistency_lab import (
    LAB_TABLES,
    create_lab_tables,
    delete_lab_tables,
    lab_tables,
    measure_write_latency,
    mrsc_layout,
    run_lab,
)
from helpers.consistency_metrics import count_all
from localcloud import replication as replication_module
from localcloud.replication import Replication

pytestmark = pytest.mark.slow  # several seconds a test: left out of make test-fast


def test_two_regions_of_a_set_get_a_witness_and_three_get_none():
    assert mrsc_layout(["eu-west-1", "eu-central-1"]) == (["eu-west-1", "eu-central-1"], "eu-west-2")
    assert mrsc_layout(["us-east-1", "us-east-2", "us-west-2"]) == (["us-east-1", "us-east-2", "us-west-2"], None)
    with pytest.raises(ValueError, match="EU: eu-west-1"):
        mrsc_layout(["eu-west-1", "us-east-1"])


def test_a_plan_in_regions_without_an_mrsc_layout_says_so_instead_of_failing(localcloud_status):
    cfg = make_config(localcloud_status, regions=["eu-west-1", "us-east-1"])
    (row,) = [r for r in LAB_TABLES.plan(cfg) if "MRSC" in r.resource]
    assert "no MRSC table" in row.resource and "consistency_lab" in row.resource


def test_on_aws_the_mrsc_region_sets_are_checked_before_anything_is_created(localcloud_status):
    with pytest.raises(ConfigError, match="regions.*MRSC Region set.*US: us-east-1, us-east-2, us-west-2"):
        make_config(localcloud_status, backend="aws", time_scale=1.0, acknowledge_costs=True,
                    regions=["eu-west-1", "us-east-1"])
    make_config(localcloud_status, backend="aws", time_scale=1.0, acknowledge_costs=True,
                regions=["eu-west-1", "us-east-1"], consistency_lab=False)


def test_the_lab_counts_exactly_and_shows_what_each_mode_costs(localcloud_status, unique, tmp_path):
    cfg = make_config(localcloud_status, stack_name=f"t{unique}", table_name=f"lab-{unique}",
                      consistency_updates=4, partition_s=5.0)
    clients = Clients(cfg)
    assert [row.resource for row in LAB_TABLES.plan(cfg)].count("DynamoDB MRSC witness (replicated writes billed)") == 1
    tables = create_lab_tables(cfg, clients)
    assert tables.loc[lab_tables(cfg)["mrsc"], "witness"] == "eu-west-2"
    result = run_lab(cfg, clients)

    replayed = count_all(result.log, result.finals)
    assert [c.as_dict() for c in replayed] == [c.as_dict() for c in result.counts], "the counts are the replay's"
    mrec, mrsc = result.counts_of("MREC"), result.counts_of("MRSC")
    assert mrec.lost_by_phase["partition"] > 0, "MREC: last writer wins loses updates acknowledged in the partition"
    assert mrec.stale_by_phase["partition"] > 0, "MREC: reads miss the other side's updates"
    assert (mrsc.lost_updates, mrsc.stale_reads) == (0, 0), "MRSC: nothing lost, no stale strongly consistent read"
    assert mrsc.refused_writes_by_region.get(result.partitioned_region, 0) > 0, "MRSC: the minority refuses writes"
    assert mrsc.write_availability["partition"][cfg.primary_region] == 1.0, "MRSC: the majority carries on"
    for remedy in ("MREC + one Region (optimistic concurrency)", "MREC + home Region", "MREC + unique inserts"):
        assert result.counts_of(remedy).lost_updates == 0, f"{remedy} loses no update"
    latency = result.write_latency
    assert (latency.region, latency.peer) == ("eu-west-1", "eu-west-2"), "the primary's nearest MRSC peer: the witness"
    assert latency.model_extra_ms == round_trip_ms("eu-west-1", "eu-west-2")
    shown = consistency_report.latency_table(result)
    assert "NaN" not in shown.to_html(), "a figure that does not apply is blank"
    assert shown.loc["MRSC minus MREC, pair by pair (median)", "AWS ms"] == round(
        latency.extra_wall_ms / cfg.time_scale, 1), "AWS ms = wall ms / time scale"
    assert shown.loc["MRSC minus MREC, pair by pair (median)", "model, AWS ms"] == round(latency.model_extra_ms, 1)
    figure = consistency_report.availability_and_latency_plot(result)
    assert [_bars_under_legend(ax) for ax in figure.axes] == [[], []], "each plot's legend hides none of its bars"
    metrics = consistency_report.write_artifacts(result, tmp_path)
    assert metrics["write_latency"]["extra_aws_ms"] == latency.extra_aws_ms
    assert f"where the model says {latency.model_extra_ms:.1f} ms" in consistency_report.what_just_happened(result)

    assert LAB_TABLES.inventory(cfg, clients, "global")
    delete_lab_tables(cfg, clients)
    assert LAB_TABLES.inventory(cfg, clients, "global") == [], "teardown leaves neither table"


def _bars_under_legend(ax) -> list[str]:
    """The bars of ``ax`` (with a height) that its legend covers, by their x tick label."""
    renderer = ax.figure.canvas.get_renderer()
    ax.figure.canvas.draw()
    box = ax.get_legend().get_window_extent(renderer)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    return [labels[round(bar.get_x() + bar.get_width() / 2)] for bar in ax.patches
            if bar.get_height() > 0 and box.overlaps(bar.get_window_extent(renderer))]


def test_mrsc_write_latency_over_mrec_follows_the_modelled_round_trip_in_aws_ms(tmp_path, monkeypatch):
    """At time scale 1 the pairwise MRSC - MREC difference is the round trip to the nearest other Region of the
    MRSC table, whatever the local cloud's own cost of a write (which both modes pay)."""
    monkeypatch.setattr(replication_module, "REPLICA_CREATION_S", 0.3)
    with in_process_cloud(tmp_path / "lc", Replication, time_scale=1.0) as cloud:
        ddb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=cloud.controlplane.endpoint,
                           aws_access_key_id="testing", aws_secret_access_key="testing")

        def active(name: str) -> bool:
            return ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"

        for name, extra in (("mrec", {}), ("mrsc", {"MultiRegionConsistency": "STRONG", "GlobalTableWitnessUpdates": [
                {"Create": {"RegionName": "us-east-2"}}]})):
            ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                             KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                   {"AttributeName": "sk", "AttributeType": "S"}])
            assert eventually(lambda: active(name))  # table creation takes 5 AWS seconds
            ddb.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": "us-west-2"}}], **extra)
            assert eventually(lambda: active(name))
        latency = measure_write_latency(ddb, "us-east-1", "mrec", "mrsc", ["us-east-1", "us-west-2", "us-east-2"], 1.0)
    assert latency.peer == "us-east-2" and latency.model_extra_ms == round_trip_ms("us-east-1", "us-east-2")
    assert 0.8 * latency.model_extra_ms <= latency.extra_aws_ms <= 1.5 * latency.model_extra_ms + 3.0, latency

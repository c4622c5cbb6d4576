"""helpers.dynamodb against the session's local cloud: idempotent creation, items, lag, teardown."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import PROJECT_ROOT
from helpers import dynamodb

pytestmark = pytest.mark.slow  # several seconds a test: left out of make test-fast


def test_create_global_table_twice_creates_nothing_the_second_time(cfg, clients):
    first = dynamodb.create_global_table(cfg, clients)
    second = dynamodb.create_global_table(cfg, clients)

    assert first.created_table and first.replicas_added == tuple(cfg.regions[1:])
    assert not second.created_table and second.replicas_added == ()
    assert second.replicas == tuple(sorted(cfg.regions))
    for region in cfg.regions:
        ddb = clients.client("dynamodb", region)
        assert ddb.list_tables()["TableNames"].count(cfg.table_name) == 1
        tags = ddb.list_tags_of_resource(ResourceArn=ddb.describe_table(TableName=cfg.table_name)["Table"]["TableArn"])
        assert {t["Key"]: t["Value"] for t in tags["Tags"]} == cfg.tags


def test_item_written_in_one_region_is_read_in_the_others(cfg, clients):
    dynamodb.create_global_table(cfg, clients)
    dynamodb.wait_for_replicas(cfg, clients)

    dynamodb.put_item(cfg, clients, {"item_id": "foobar", "origin_region": cfg.regions[0], "n": 1.5}, cfg.regions[0])
    lag = dynamodb.measure_replication_lag(cfg, clients, samples=2)

    assert dynamodb.get_item(cfg, clients, "foobar", cfg.regions[1]) == {"item_id": "foobar", "origin_region": cfg.regions[0], "n": 1.5}
    assert dynamodb.get_item(cfg, clients, "missing", cfg.regions[1]) is None
    assert set(lag["target"]) == set(cfg.regions) and len(lag) == 2
    assert (lag["lag_ms"] > 0).all()


def test_describe_global_table_has_a_row_per_region(cfg, clients):
    dynamodb.create_global_table(cfg, clients)

    frame = dynamodb.wait_for_replicas(cfg, clients)

    assert list(frame["region"]) == list(cfg.regions)
    assert set(frame["replica_status"]) == {"ACTIVE"}
    assert set(frame["global_table_version"]) == {"2019.11.21"}
    assert set(frame["stream"]) == {"NEW_AND_OLD_IMAGES"}


def test_delete_global_table_removes_every_replica_and_tolerates_a_half_built_stack(cfg, clients):
    clients.client("dynamodb", cfg.regions[1]).create_table(  # a stray table that never became a replica
        TableName=cfg.table_name, KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": k, "Value": v} for k, v in cfg.tags.items()],  # the stack's: teardown touches only those
    )

    deleted = dynamodb.delete_global_table(cfg, clients)
    again = dynamodb.delete_global_table(cfg, clients)

    assert set(deleted["action"]) == {"absent", "table deleted"}
    assert set(again["action"]) == {"absent"}
    assert set(dynamodb.describe_global_table(cfg, clients)["table_status"]) == {"NOT FOUND"}


def test_delete_global_table_deletes_replicas_first(cfg, clients):
    dynamodb.create_global_table(cfg, clients)

    deleted = dynamodb.delete_global_table(cfg, clients).set_index("region")["action"]

    assert deleted[cfg.regions[0]] == "table deleted"
    assert deleted[cfg.regions[1]] == "replica deleted"
    assert set(dynamodb.describe_global_table(cfg, clients)["table_status"]) == {"NOT FOUND"}


@pytest.mark.notebook
def test_global_table_notebook_runs_and_records_the_lag(localcloud_status, unique, tmp_path):
    import papermill

    run_dir = tmp_path / "run"
    papermill.execute_notebook(
        str(PROJECT_ROOT / "notebooks" / "01_global_table.ipynb"), str(tmp_path / "01.ipynb"),
        cwd=str(PROJECT_ROOT / "notebooks"), progress_bar=False,
        parameters={"localcloud_state_dir": localcloud_status["state_dir"], "time_scale": localcloud_status["time_scale"],
                    "stack_name": f"t{unique}", "table_name": f"nb-{unique}", "run_dir": str(run_dir)},
    )

    lag = pd.read_csv(run_dir / "replication_lag.csv")
    assert len(lag) == 10 and (lag["lag_ms"] > 0).all()


def test_the_chaos_run_counts_an_acknowledged_write_missing_from_a_replica_as_lost(cfg, clients):
    from helpers.chaos import verify_replicas

    dynamodb.create_global_table(cfg, clients)
    dynamodb.wait_for_replicas(cfg, clients)
    dynamodb.put_item(cfg, clients, {"item_id": "kept"}, cfg.regions[0])

    converged = verify_replicas(cfg, clients, ["kept"])  # waits for replication to bring it everywhere
    assert converged["identical"] and converged["lost"] == []
    assert converged["counts"] == {region: 1 for region in cfg.regions}

    ghost = verify_replicas(cfg, clients, ["kept", "acknowledged-but-never-stored"], timeout=0.5)
    assert ghost["lost"] == ["acknowledged-but-never-stored"] and ghost["identical"]


def test_a_chaos_run_compares_only_the_items_written_since_it_began(cfg, clients):
    """A stack that ran many experiments keeps their items; each run checks its own, not the whole table again."""
    import time

    from helpers.chaos import verify_replicas

    dynamodb.create_global_table(cfg, clients)
    dynamodb.wait_for_replicas(cfg, clients)
    dynamodb.put_item(cfg, clients, {"item_id": "earlier", "written_at": "2026-01-01T00:00:00.000Z"}, cfg.regions[0])
    began = time.time()
    dynamodb.put_item(cfg, clients, {"item_id": "this-run", "written_at": time.strftime("%Y-%m-%dT%H:%M:%S.999Z",
                                                                                          time.gmtime(began + 1))},
                      cfg.regions[0])
    checked = verify_replicas(cfg, clients, ["this-run"], since=began)
    assert checked["identical"] and checked["lost"] == []
    assert checked["counts"] == {region: 1 for region in cfg.regions}, "the earlier run's item is not scanned"
    assert set(verify_replicas(cfg, clients, ["this-run"])["items"]) == {"earlier", "this-run"}

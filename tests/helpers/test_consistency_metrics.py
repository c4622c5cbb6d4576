"""The consistency lab's counts, replayed from hand-made logs whose answers are known."""

from __future__ import annotations

from helpers.consistency_metrics import READ, WRITE, Op, count, lost_updates, read_your_writes_violations, \
    stale_reads, summary_table, write_availability


def w(update, began, ended, *, region="a", client="c1", item="counter", phase="normal", ok=True, error="",
      attempt=1, scenario="S"):
    return Op(scenario, client, WRITE, region, item, phase, began, ended, ok, error, update, attempt)


def r(seen, began, ended, *, region="b", client="c2", item="counter", phase="normal", moved=False, scenario="S"):
    return Op(scenario, client, READ, region, item, phase, began, ended, True, seen=frozenset(seen), moved=moved)


def test_an_acknowledged_update_missing_from_the_converged_item_is_lost():
    ops = [w("u1", 0, 1), w("u2", 2, 3, region="b"), w("u3", 4, 5, ok=False, error="InternalServerError")]
    assert [op.update_id for op in lost_updates(ops, {"counter": frozenset({"u2"})})] == ["u1"]


def test_a_read_that_misses_an_earlier_acknowledged_update_is_stale_and_a_concurrent_one_is_not():
    final = {"counter": frozenset({"u1", "u2"})}
    ops = [w("u1", 0, 1), w("u2", 5, 7),
           r({"u1"}, 2, 3),  # up to date
           r(set(), 2, 3),  # misses u1, acknowledged at 1: stale
           r({"u1"}, 6, 8),  # u2 not acknowledged when it began: not stale
           r({"u1"}, 8, 9)]  # misses u2: stale
    assert [(op.began, sorted(op.seen)) for op in stale_reads(ops, final)] == [(2, []), (8, ["u1"])]


def test_a_lost_update_is_not_counted_again_as_staleness():
    ops = [w("u1", 0, 1), w("u2", 0, 1, region="b"), r({"u2"}, 5, 6)]
    assert stale_reads(ops, {"counter": frozenset({"u2"})}) == []


def test_read_your_writes_is_violated_only_by_a_moved_client_missing_its_own_last_write():
    ops = [w("u1", 0, 1, client="m"), w("u2", 2, 3, client="m"),
           r({"u1"}, 4, 5, client="m", moved=True),  # misses its own u2: violation
           r({"u1", "u2"}, 6, 7, client="m", moved=True),
           r({"u1"}, 4, 5, client="other", moved=True)]  # not its writes
    assert [(op.client, op.began) for op in read_your_writes_violations(ops)] == [("m", 4)]


def test_write_availability_is_acknowledged_over_attempted_per_phase_and_region():
    ops = [w("u1", 0, 1, phase="partition", region="a"),
           w("u2", 0, 1, phase="partition", region="b", ok=False, error="InternalServerError"),
           w("u3", 2, 3, phase="partition", region="b")]
    assert write_availability(ops) == {"partition": {"a": 1.0, "b": 0.5}}


def test_count_gathers_every_number_of_one_scenario():
    ops = [w("u1", 0, 1, phase="partition"),
           w("u2", 0, 1, phase="partition", region="b", ok=False, error="ReplicatedWriteConflictException"),
           w("u2", 1, 2, phase="partition", region="b", attempt=2),
           w("u9", 0, 1, phase="partition", region="b", ok=False, error="InternalServerError"),
           r({"u1"}, 3, 4, phase="healed"),
           w("x", 0, 1, scenario="other")]
    c = count("S", ops, {"counter": frozenset({"u1", "u2"})})
    assert (c.acknowledged_updates, c.lost_updates, c.stale_reads) == (2, 0, 1)
    assert (c.conflict_exceptions, c.retries) == (1, 1)
    assert c.refused_writes_by_region == {"b": 1}, "a conflict is not a refusal for want of a quorum"
    assert c.write_availability["partition"] == {"a": 1.0, "b": 0.5}, "the conflict is not counted as unavailability"
    assert c.write_p50_ms == 1000.0
    assert summary_table([c]).loc["S", "lost updates"] == 0

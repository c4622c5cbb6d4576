"""Benchmarks of the local cloud and the runbook (``make bench``; not part of the test run).

``python -m bench`` runs them all (about four minutes), prints a table of
every figure beside its baseline and goal, and writes ``bench/results.json``
and the table of ``docs/benchmarks.md``:

* ``bench.localcloud_start``: ``localcloud start`` until ready, median of several runs;
* ``bench.api``: requests/s through DNS, TLS, the gateway and the Lambda runtime,
  1 and 8 clients, next to raw moto ``put_item``/``get_item`` in the same run;
* ``bench.replication``: global-table replication lag p50/p99 at a steady write rate;
* ``bench.lambda_invoke``: warm and cold ``lambda.invoke`` latency;
* ``bench.failover``: fault to unhealthy health check and to a DNS answer change,
  against FailureThreshold x RequestInterval (+ TTL), at two time scales;
* ``bench.runbook``: the whole runbook on the local cloud, per notebook, and the
  local cloud's peak memory.

Each module also runs alone (``python -m bench.api``) and prints its JSON.
``bench.common`` holds the shared plumbing.
"""

"""Facts about AWS that both the runbook (``helpers``) and the local cloud (``localcloud``) rely on.

One module per AWS concern, standard library and botocore only, so the helpers
import them on AWS too and the local cloud emulates exactly what they state:

- ``awsfacts.regions``: the region names and partitions botocore knows;
- ``awsfacts.apigateway``: the hosted-zone ids of API Gateway's regional endpoints, its request quotas;
- ``awsfacts.awslambda``: the synchronous invocation payload quota, the deprecated runtimes and their block dates;
- ``awsfacts.dynamodb``: the item size quota (and how a size is counted), the nesting depth, the
  global-table versions (and AWS's refusal of the legacy one);
- ``awsfacts.route53``: Route 53's health-checker regions, the probe rules and
  the FailureThreshold / >18% rule that turns probes into a health status;
- ``awsfacts.time_scale``: which time scales (multipliers of AWS's durations) a
  run may use;
- ``awsfacts.global_tables``: DynamoDB global tables' consistency modes and the
  rules of multi-Region strong consistency (Region sets, three Regions, witness);
- ``awsfacts.latency``: modelled round trips between Regions, from their locations.
"""

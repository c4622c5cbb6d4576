"""The AWS Fault Injection Service actions the runbook starts, by action id: the helpers start experiments
with them and the local cloud's FIS carries them out, so both read them here.

``PAUSE_REPLICATION`` is AWS's own action
(https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html#dynamodb-actions-reference):
replication of the target global-table replica pauses. The other two exist only in the local cloud's
FIS; AWS has no equivalent, and refuses them as unknown actions.
"""

from __future__ import annotations

PAUSE_REPLICATION = "aws:dynamodb:global-table-pause-replication"
REGION_OUTAGE = "localcloud:region:outage"  # the region's API refuses connections and its replicas stop replicating
NETWORK_PARTITION = "localcloud:network:partition"  # the region's replicas neither send nor receive replicated writes

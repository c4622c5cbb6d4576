"""Lambda facts: the payload quota of a synchronous invocation.

"Invocation payload (request and response): 6 MB each for synchronous"
(Lambda quotas, https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). A larger
request is refused with ``RequestEntityTooLargeException`` (HTTP 413): "Request must be smaller than
6291456 bytes for the InvokeFunction operation".
"""

from __future__ import annotations

MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024

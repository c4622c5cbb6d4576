"""Route 53 change batches go through PENDING before INSYNC, as on AWS.

moto applies ``ChangeResourceRecordSets`` at once and answers every change with the same fixed id and
``INSYNC``. Route 53 answers ``PENDING`` with an id of the change, and ``GetChange`` reports ``INSYNC``
once the change has reached all its DNS servers ("usually within 60 seconds", Route 53 API Reference,
GetChange). Here a change is ``PENDING`` for ``CHANGE_PROPAGATION_S`` (scaled) and ``INSYNC`` after; its
records are served at once (the local cloud has one DNS server). Other change ids (moto's, from
CreateHostedZone and others) are answered by moto.

Overrides (control plane): route53 ``ChangeResourceRecordSets`` and ``GetChange``.
"""

from __future__ import annotations

import datetime
import random
import string
import threading
import time
from typing import Any

from localcloud.component import Component
from localcloud.controlplane import Call, Raw

CHANGE_PROPAGATION_S = 10.0  # AWS seconds a change stays PENDING (AWS: usually within 60 s)
_ID_ALPHABET = string.ascii_uppercase + string.digits


class Route53Changes(Component):
    """Ids and PENDING/INSYNC status of Route 53 record changes."""

    name = "route53_changes"

    def __init__(self, cloud: Any):
        super().__init__(cloud)
        self._changes: dict[str, tuple[datetime.datetime, float, str | None]] = {}  # id -> submitted, in sync at, comment
        self._lock = threading.Lock()
        self._ids = random.Random()
        cloud.controlplane.register("route53", "ChangeResourceRecordSets", self._change_record_sets)
        cloud.controlplane.register("route53", "GetChange", self._get_change)

    def _change_record_sets(self, call: Call) -> dict[str, Any] | Raw:
        status, headers, body = call.forward()
        if status >= 300:
            return Raw(status, headers, body)
        change_id = "C" + "".join(self._ids.choice(_ID_ALPHABET) for _ in range(13))
        submitted = datetime.datetime.now(datetime.timezone.utc)
        comment = (call.params.get("ChangeBatch") or {}).get("Comment")
        with self._lock:
            self._changes[change_id] = (submitted, time.monotonic() + self.cloud.scaled(CHANGE_PROPAGATION_S), comment)
        return {"ChangeInfo": self._info(change_id)}

    def _get_change(self, call: Call) -> dict[str, Any] | Raw:
        change_id = call.params["Id"].rsplit("/", 1)[-1]
        with self._lock:
            known = change_id in self._changes
        if not known:  # one of moto's fixed ids (CreateHostedZone and the like): INSYNC
            return Raw(*call.forward())
        return {"ChangeInfo": self._info(change_id)}

    def _info(self, change_id: str) -> dict[str, Any]:
        with self._lock:
            submitted, in_sync_at, comment = self._changes[change_id]
        info: dict[str, Any] = {"Id": f"/change/{change_id}", "SubmittedAt": submitted,
                                "Status": "PENDING" if time.monotonic() < in_sync_at else "INSYNC"}
        if comment:
            info["Comment"] = comment
        return info

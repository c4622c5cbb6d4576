"""The base of a data-plane component, and the error when one is built without a collaborator it needs."""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)


class MissingComponent(RuntimeError):
    """A component needs another one that this local cloud was not built with (the message names both)."""


class Component:
    """Base of a data-plane component: built with the cloud, started and stopped by it.

    Collaborators are keyword-only constructor parameters named after the
    component they need (``def __init__(self, cloud, *, dns)``); the composition
    root (``localcloud.cloud.build_components``) passes them in, and a component
    never looks a peer up at run time.
    """

    name = "component"

    def __init__(self, cloud: Any):
        self.cloud = cloud

    def start(self) -> None:
        """Start threads or listeners (return quickly)."""

    def stop(self) -> None:
        """Stop everything started; must not raise."""

    def status(self) -> dict[str, Any]:
        """Extra fields for ``localcloud status``."""
        return {}


class PeriodicComponent(Component):
    """A component that calls ``sweep()`` every ``period_s()`` real seconds on a thread of its own; a failed
    sweep is logged and the next one runs."""

    def __init__(self, cloud: Any):
        super().__init__(cloud)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def period_s(self) -> float:
        raise NotImplementedError

    def sweep(self) -> Any:
        raise NotImplementedError

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        period = self.period_s()
        while not self._stopping.wait(period):
            try:
                self.sweep()
            except Exception:  # a failed sweep must not end the next ones
                log.exception("%s sweep failed", self.name)

"""The base of a data-plane component, and the error when one is built without a collaborator it needs."""

from __future__ import annotations

from typing import Any


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

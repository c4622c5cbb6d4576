"""The gateway component: one HTTPS listener per region in use, API Gateway's data plane for the local cloud.

moto stores REST APIs, resources, methods, integrations, stages, domain names
and base path mappings, but never routes a request to them. Each region in use
gets a listener (``server.Listener``) at ``(cloud.regions.address(region),
settings.api_port)``, with TLS from the ``certificates`` component (SNI picks
the execute-api or custom-domain certificate), so a client learns the region
only through DNS, as on AWS. Every listener hands its requests to one
``handler.ApiHandler``, which routes them (``routes``) and invokes the function
through the Lambda runtime with a payload-1.0 proxy event (``proxy``).
A region outage (a fault) closes its listener and cuts open connections.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from localcloud.certificates import Certificates
from localcloud.component import Component
from localcloud.gateway.handler import ApiHandler
from localcloud.gateway.overrides import Overrides
from localcloud.gateway.routes import Routes
from localcloud.gateway.server import Listener
from localcloud.lambda_runtime import LambdaRuntime
from localcloud.settings import ACCESS_KEY_ID, SECRET_ACCESS_KEY, PortInUse, taken_on

log = logging.getLogger(__name__)


class Gateway(Component):
    """One HTTPS front per region: API Gateway REST APIs and custom domain names."""

    name = "gateway"

    def __init__(self, cloud: Any, *, certificates: Certificates, lambda_runtime: LambdaRuntime):
        super().__init__(cloud)
        self._certificates = certificates
        routes = Routes(cloud.account_id)
        self._handler = ApiHandler(routes, lambda_runtime, cloud.account_id, cloud.settings.api_port,
                                   credentials={ACCESS_KEY_ID: SECRET_ACCESS_KEY}, scaled=cloud.scaled,
                                   ca_bundle=str(cloud.settings.ca_bundle))
        self._overrides = Overrides(cloud, routes, certificates)
        self._servers: dict[str, Listener] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._down: set[str] = set()
        self._lock = threading.RLock()
        self._running = False

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Check the API port is free on every region's address, then open a listener per region in use.

        Each region's listener opens when the region comes into use; a port
        already taken on one of their addresses (another local cloud, say)
        fails the start here instead of leaving that region without a gateway.
        """
        port = self.cloud.settings.api_port
        addresses = self.cloud.regions.gateway_addresses()
        taken = taken_on(port, addresses.values())
        if taken is not None:
            region = next(region for region, address in addresses.items() if address == taken)
            raise PortInUse(f"the API port {port} is already in use on {taken} (the gateway address of {region}): "
                            "another local cloud or server listens there; stop it, or start with another --api-port")
        self._running = True
        self.cloud.regions.subscribe(self._region_in_use)

    def stop(self) -> None:
        with self._lock:
            self._running = False
            regions = list(self._servers)
        for region in regions:
            self._close(region)

    def status(self) -> dict[str, Any]:
        with self._lock:
            gateways = {region: f"{server.server_address[0]}:{server.server_address[1]}"
                        for region, server in sorted(self._servers.items())}
            return {"gateways": gateways, "gateway_outages": sorted(self._down)}

    def set_outage(self, region: str, down: bool) -> None:
        """Make ``region``'s gateway unreachable (connections refused, open ones cut) or bring it back."""
        with self._lock:
            if down:
                self._down.add(region)
            else:
                self._down.discard(region)
        if down:
            self._close(region)
        elif region in self.cloud.regions.active:
            self._open(region)

    def _region_in_use(self, region: str) -> None:
        if region not in self._down:
            self._open(region)

    def _open(self, region: str) -> None:
        with self._lock:
            if not self._running or region in self._servers:
                return
            address = (self.cloud.regions.address(region), self.cloud.settings.api_port)
            context = self._certificates.server_context(region)  # the region's own certificates, as on AWS
            server = Listener(self._handler.handle, region, address, context)
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                      name=f"gateway-{region}", daemon=True)
            self._servers[region] = server
            self._threads[region] = thread
            thread.start()
        log.info("gateway for %s listening on https://%s:%s", region, *address)

    def _close(self, region: str) -> None:
        with self._lock:
            server = self._servers.pop(region, None)
            self._threads.pop(region, None)
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.drop_connections()

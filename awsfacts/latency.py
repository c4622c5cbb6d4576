"""Round-trip times between AWS Regions, derived from where the Regions are.

A model, not a measurement: light in fibre covers about 200 km per
millisecond, terrestrial and submarine routes are about 1.5 times the
great-circle distance, and each hop adds a little processing. It gives the
usual orders of magnitude (us-east-1 to us-east-2 about 10 ms, Ireland to
Frankfurt about 20 ms, N. Virginia to Oregon about 60 ms) without shipping a
measured matrix that ages. The local cloud scales these by its time scale
(``localcloud.strong_consistency``: an MRSC write waits for the round trip to
the nearest other Region of its table); the consistency lab reports them.
"""

from __future__ import annotations

import math

FIBRE_KM_PER_MS = 200.0
ROUTE_FACTOR = 1.5  # route length / great-circle distance
BASE_RTT_MS = 2.0  # processing on both ends
EARTH_RADIUS_KM = 6371.0

# Approximate location (latitude, longitude) of each Region's metropolitan area.
REGION_COORDINATES: dict[str, tuple[float, float]] = {
    "us-east-1": (39.04, -77.49),  # N. Virginia
    "us-east-2": (39.96, -83.00),  # Ohio
    "us-west-1": (37.35, -121.96),  # N. California
    "us-west-2": (45.84, -119.70),  # Oregon
    "ca-central-1": (45.50, -73.57),  # Montreal
    "sa-east-1": (-23.55, -46.63),  # Sao Paulo
    "eu-west-1": (53.35, -6.26),  # Ireland
    "eu-west-2": (51.51, -0.13),  # London
    "eu-west-3": (48.86, 2.35),  # Paris
    "eu-central-1": (50.11, 8.68),  # Frankfurt
    "eu-north-1": (59.33, 18.07),  # Stockholm
    "eu-south-1": (45.46, 9.19),  # Milan
    "ap-northeast-1": (35.68, 139.69),  # Tokyo
    "ap-northeast-2": (37.57, 126.98),  # Seoul
    "ap-northeast-3": (34.69, 135.50),  # Osaka
    "ap-southeast-1": (1.35, 103.82),  # Singapore
    "ap-southeast-2": (-33.87, 151.21),  # Sydney
    "ap-south-1": (19.08, 72.88),  # Mumbai
}


def distance_km(a: str, b: str) -> float:
    """Great-circle distance between two Regions (haversine); KeyError names the Regions the model knows."""
    for region in (a, b):
        if region not in REGION_COORDINATES:
            raise KeyError(f"no location for Region {region!r}; known: {', '.join(sorted(REGION_COORDINATES))}")
    (lat1, lon1), (lat2, lon2) = (map(math.radians, REGION_COORDINATES[r]) for r in (a, b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def round_trip_ms(a: str, b: str) -> float:
    """The modelled round trip between Regions ``a`` and ``b`` in milliseconds (0 within one Region)."""
    if a == b:
        return 0.0
    return BASE_RTT_MS + 2 * distance_km(a, b) * ROUTE_FACTOR / FIBRE_KM_PER_MS


def latency_matrix(regions: list[str]) -> dict[str, dict[str, float]]:
    """Round trips (ms) between every pair of ``regions``, for display."""
    return {a: {b: round(round_trip_ms(a, b), 1) for b in regions} for a in regions}

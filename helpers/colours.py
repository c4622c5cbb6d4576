"""The colours every plot shares: one per region, derived from its name, and one per kind of event.

A region's colour is a stable hash of its name (SHA-256, not Python's per-process ``hash``)
into ``REGION_PALETTE``, so ``eu-west-1`` has the same colour in every plot of every run.
When two regions of one run hash to the same colour, the one later in alphabetical order
takes the next free colour: a plot never shows two regions alike, and the choice does not
depend on the order the regions are listed in. The palette (matplotlib's ``tab10`` without
its red, green, purple and grey) holds no colour of ``EVENT_COLOURS``, so a region's bars
and lines never look like an event marker. Its order gives the default regions
(eu-west-1, eu-central-1) blue and orange, the pair that tells apart best.
"""

from __future__ import annotations

import hashlib
from typing import Iterable

REGION_PALETTE = ("#17becf", "#8c564b", "#1f77b4", "#bcbd22", "#ff7f0e", "#e377c2")  # cyan, brown, blue, olive, orange, pink
EVENT_COLOURS = {  # kind of event -> colour of its marker line
    "fault": "#d62728",    # red: the fault, its window and the errors it causes
    "health": "#000000",   # black: Route 53 health check status changes
    "dns": "#9467bd",      # purple: the DNS answer changes
    "restore": "#2ca02c",  # green: the fault undone
}
ERROR_COLOUR = EVENT_COLOURS["fault"]


def _home(region: str) -> int:
    """The palette index a region's name hashes to."""
    return int.from_bytes(hashlib.sha256(region.encode()).digest()[:8], "big") % len(REGION_PALETTE)


def region_colours(regions: Iterable[str]) -> dict[str, str]:
    """Each region's colour, distinct within ``regions`` (at most ``len(REGION_PALETTE)`` of them)."""
    names = sorted(set(regions))
    if len(names) > len(REGION_PALETTE):
        raise ValueError(f"{len(names)} regions but only {len(REGION_PALETTE)} region colours: "
                         f"add colours to REGION_PALETTE in helpers/colours.py")
    taken: dict[int, str] = {}
    for name in names:
        index = _home(name)
        while index in taken:
            index = (index + 1) % len(REGION_PALETTE)
        taken[index] = name
    return {name: REGION_PALETTE[index] for index, name in taken.items()}

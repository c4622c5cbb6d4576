"""A live picture of the chaos experiment in JupyterLab: items by region, health and DNS, redrawn every second.

Only in an interactive kernel: a report run (``TQDM_DISABLE``, see ``helpers.progress``)
or a terminal gets ``None`` from ``live_view``, so its saved notebook holds only the final plots.
The view reads the records the experiment is writing (request rows and sampler rows) and
keeps nothing of its own; when the run ends it replaces itself with one line.
"""

from __future__ import annotations

import io
import time
from typing import Any

from helpers.colours import EVENT_COLOURS, region_colours
from helpers.config import Config
from helpers.progress import disabled_by_environment

REDRAW_EVERY_S = 1.0


def _in_a_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


class LiveView:
    """One display handle, updated with a small PNG at most every ``REDRAW_EVERY_S`` wall seconds."""

    def __init__(self, cfg: Config):
        from IPython.display import display

        self.cfg = cfg
        self._last = 0.0
        self._handle = display({"text/plain": "the live view starts with the load"}, raw=True, display_id=True)

    def update(self, rows: list[dict[str, Any]], samples: list[dict[str, Any]], now: float,
               fault_at: float | None, restore_at: float | None) -> None:
        if time.monotonic() - self._last < REDRAW_EVERY_S:
            return
        self._last = time.monotonic()
        from IPython.display import Image

        self._handle.update(Image(data=self._draw(rows, list(samples), now, fault_at, restore_at)))

    def _draw(self, rows: list[dict[str, Any]], samples: list[dict[str, Any]], now: float,
              fault_at: float | None, restore_at: float | None) -> bytes:
        import matplotlib.pyplot as plt
        import numpy as np

        scale, regions = self.cfg.time_scale, self.cfg.regions
        colours = region_colours(regions)
        fig, (ax_i, ax_h, ax_d) = plt.subplots(3, 1, figsize=(9, 4.2), sharex=True,
                                               gridspec_kw={"height_ratios": (2.2, 1, 1)})
        end = max(now, 1e-3) / scale
        edges = np.linspace(0, end, 30)
        bottom = np.zeros(len(edges) - 1)
        for region in regions:
            served = [r["sent_at"] / scale for r in rows if r.get("served_region") == region]
            counts, _ = np.histogram(served, bins=edges)
            ax_i.bar(edges[:-1], counts, width=edges[1] - edges[0], bottom=bottom, align="edge",
                     color=colours[region], label=f"served by {region}")
            bottom += counts
        ax_i.set_ylabel("requests")
        for ax, kind, label in ((ax_h, "health", "healthy"), (ax_d, "dns", "in DNS")):
            for i, region in enumerate(regions):
                points = [(s["t"] / scale, s["value"] + i * 0.05) for s in samples
                          if s.get("kind") == kind and s.get("region") == region]
                if points:
                    xs, ys = zip(*points)
                    ax.step(xs, ys, where="post", color=colours[region])
            ax.set_yticks([0, 1], ["no", "yes"])
            ax.set_ylabel(label)
        for ax in (ax_i, ax_h, ax_d):
            if fault_at is not None:
                ax.axvline(fault_at / scale, color=EVENT_COLOURS["fault"], lw=1.4)
            if restore_at is not None:
                ax.axvline(restore_at / scale, color=EVENT_COLOURS["restore"], lw=1.4)
        ax_i.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        ax_i.set_title(f"live: {self.cfg.fault} in {self.cfg.faulty_region} (red: fault, green: restore)", fontsize=10)
        ax_d.set_xlabel("AWS seconds since the experiment started")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=80)
        plt.close(fig)
        return buffer.getvalue()

    def close(self) -> None:
        self._handle.update({"text/plain": "live view ended: the final plots follow"}, raw=True)


def live_view(cfg: Config) -> LiveView | None:
    """A live view in an interactive notebook; None in a report run or outside a notebook."""
    if disabled_by_environment() or not _in_a_notebook():
        return None
    return LiveView(cfg)

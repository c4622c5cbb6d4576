"""The live view: only in an interactive notebook, never in a report run; it draws from the growing records."""

from __future__ import annotations

from helpers import chaos_live
from helpers.config import validate


def test_report_runs_and_terminals_get_no_live_view(monkeypatch):
    cfg = validate({})
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert chaos_live.live_view(cfg) is None, "a report run keeps only the final plots"
    monkeypatch.delenv("TQDM_DISABLE")
    assert chaos_live.live_view(cfg) is None, "outside a notebook kernel there is nothing to update"


def test_the_live_picture_is_drawn_from_requests_and_samples():
    cfg = validate({"time_scale": 0.1})
    view = chaos_live.LiveView.__new__(chaos_live.LiveView)  # no display handle outside a kernel
    view.cfg = cfg
    rows = [{"sent_at": t / 10, "served_region": cfg.regions[t % 2]} for t in range(40)]
    samples = [{"t": t / 10, "kind": kind, "region": region, "value": 1}
               for t in range(40) for kind in ("health", "dns") for region in cfg.regions]
    png = view._draw(rows, samples, now=4.0, fault_at=1.0, restore_at=3.0)
    assert png.startswith(b"\x89PNG") and len(png) > 5000

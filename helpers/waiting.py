"""The runbook's one polling loop: a progress bar, a timeout, and an error that says what it last saw."""

from __future__ import annotations

import time
from typing import Any, Callable

from helpers.progress import tqdm


def wait_until(what: str, check: Callable[[], tuple[bool, Any]], timeout: float, *, total: int | None = None,
               progress: Callable[[Any], int] | None = None, interval: float = 0.05,
               max_interval: float = 2.0) -> Any:
    """Poll ``check`` (returning (done, last seen)) until done, and return what it last saw.

    The delay between polls grows from ``interval`` to ``max_interval``. After ``timeout``
    seconds a ``TimeoutError`` names ``what`` and the last thing seen. In a dry
    run the reads show what the recorded changes would have done
    (``helpers.dryrun``), so a wait for them ends at once.
    """
    deadline = time.monotonic() + timeout
    delay = interval
    with tqdm(total=total, desc=what, leave=False) as bar:
        while True:
            done, seen = check()
            if progress is not None:
                bar.n = progress(seen)
                bar.refresh()
            if done:
                return seen
            if time.monotonic() >= deadline:
                raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}; last seen: {seen}")
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 1.5, max(interval, max_interval))

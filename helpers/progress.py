"""Progress bars: widgets in JupyterLab, text in a terminal, none at all when ``TQDM_DISABLE`` is set.

Report runs set ``TQDM_DISABLE=1`` for their kernels (``helpers.runner``), since a
bar in a saved notebook is only a stale widget. tqdm itself applies ``TQDM_*``
variables only to the arguments a caller leaves out, and ``tqdm.notebook`` always
passes ``disable`` on to tqdm (``bool(kwargs.get('disable', False))``), so in a
kernel the variable alone changes nothing. This ``tqdm`` honours it in every
variant, at the time each bar is made. Helpers import ``tqdm`` from here.
"""

from __future__ import annotations

import contextlib
import os

from tqdm.auto import tqdm as _auto_tqdm

DISABLE_VARIABLE = "TQDM_DISABLE"


def disabled_by_environment() -> bool:
    """True when ``TQDM_DISABLE`` is set to anything but an empty string, 0 or false."""
    return os.environ.get(DISABLE_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


class tqdm(_auto_tqdm):  # noqa: N801 (tqdm's own name, so helpers change only their import)
    """``tqdm.auto.tqdm`` that is off whenever ``TQDM_DISABLE`` says so."""

    def __init__(self, *args, **kwargs):
        if disabled_by_environment():
            kwargs["disable"] = True
        super().__init__(*args, **kwargs)


@contextlib.contextmanager
def disabled():
    """No progress bars meanwhile, in this process and in the processes it starts (``TQDM_DISABLE=1``, inherited);
    the variable is put back afterwards."""
    saved = os.environ.get(DISABLE_VARIABLE)
    os.environ[DISABLE_VARIABLE] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(DISABLE_VARIABLE, None)
        else:
            os.environ[DISABLE_VARIABLE] = saved

"""Tested helpers behind the runbook notebooks: one module per AWS concern.

Importing the package sets the one display option the notebooks share: tables show their text whole.
pandas cuts a cell at 50 characters, which would hide the ARNs, reasons and explanations the runbook's
tables carry, in JupyterLab and in the exported HTML report alike.
"""

import pandas as pd

pd.set_option("display.max_colwidth", None)

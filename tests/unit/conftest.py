"""Make the project's packages importable when pytest runs from a plain checkout.

The project is not installed into the virtualenv, and plain ``pytest`` does not put the
repository root on ``sys.path``. Redundant (and harmless) once ``pyproject.toml`` sets
``[tool.pytest.ini_options] pythonpath = ["."]`` or the package is installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

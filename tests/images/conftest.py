"""Image tests: the lock and the Dockerfiles (no Docker engine runs here)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

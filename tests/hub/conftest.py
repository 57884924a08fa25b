"""Hub fixtures: one real JupyterHub + configurable-http-proxy per session, on 127.0.0.1.

The hub is started by the launcher behind ``wisehub up`` (``wisehub.hub.launcher.start``), with
the demo users and groups, the session's sample data, and share sync every second. Tests create
their own users (unique names) so they do not depend on each other.
"""

from __future__ import annotations


# The session hub (`hub`, `hub_settings`) lives in tests/conftest.py, shared with tests/publish.

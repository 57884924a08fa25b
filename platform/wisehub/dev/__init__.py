"""Throw-away real services (Ceph RGW, PostgreSQL, …) for development and tests."""

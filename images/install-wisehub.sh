#!/bin/sh
# Both images' Python step: the locked environment, then the project on top without its
# dependencies (so nothing unlocked slips in), then a consistency check.
set -eu
pip install --no-deps -r /tmp/wisehub/requirements.lock
pip install --no-deps /tmp/wisehub/src
pip check
rm -rf /tmp/wisehub

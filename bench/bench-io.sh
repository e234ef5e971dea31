#!/bin/bash
# Issue 2: shard write/read throughput beside plain write()/read() of the same bytes.
set -e
echo "shard I/O ($(nproc) cores, $(uname -r)); HDF5 $(pkg-config --modversion hdf5)"
"$VSIM_BUILD/bench/bench_io" bench/out/io

UNIT_TESTS += test_core test_shards
HELPERS += shard-writer shard-check
BENCHES += bench_io

# Job-array shards and the merge of their parts (examples/common/shard.c,
# parts.c): pure units, no scheduler needed. The programs' --shard/--merge
# end to end and the real-Slurm runs are in tests/cluster/.
vpar_add_test(test_shard SOURCES test_shard.c LIBS vpar_examples_common LABELS cross)
vpar_add_test(test_parts SOURCES test_parts.c LIBS vpar_examples_common LABELS cross)

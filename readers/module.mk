# The shard writer builds with HDF5 alone (the trainer links it); the reader adds jansson.
WRITER_SRCS +=
LIB_SRCS +=

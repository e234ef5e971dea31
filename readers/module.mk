# The shard writer builds with HDF5 alone (the trainer links it); the reader adds jansson.
WRITER_SRCS += readers/run.c readers/h5util.c readers/writer.c
LIB_SRCS += readers/trial.c

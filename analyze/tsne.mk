# analyze/tsne.mk: t-SNE (issue 7). Included by the top-level Makefile's wildcard.
LIB_SRCS += analyze/pca.c analyze/tsne.c analyze/tsne_knn.c analyze/tsne_tree.c \
            analyze/tsne_fft.c analyze/tsne_quality.c analyze/tsne_io.c
PROGS += vsim-tsne
UNIT_TESTS += test_tsne
MANPAGES += docs/man/vsim-tsne.1

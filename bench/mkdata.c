/*
 * bench/mkdata.c - the benchmark's training data without Python: DATA.h5 with
 * images (32, 6, 64, 64) uint8 (a fixed pseudo-random pattern), labels and
 * design_id, as bench-train.sh's h5py snippet writes them. For machines that
 * build only the trainer (`make trainer`: HDF5, no h5py), e.g. a GPU machine:
 *   cc -O2 bench/mkdata.c $(pkg-config --cflags --libs hdf5) -o mkdata && ./mkdata DATA.h5
 * SPDX-License-Identifier: MIT
 */
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int put(hid_t f, const char *name, hid_t type, int rank, const hsize_t *dims,
               const void *data)
{
    hid_t s = H5Screate_simple(rank, dims, NULL), d;
    int rc = -1;

    if (s < 0)
        return -1;
    d = H5Dcreate2(f, name, type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d >= 0) {
        rc = H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0 ? -1 : 0;
        H5Dclose(d);
    }
    H5Sclose(s);
    return rc;
}

int main(int argc, char **argv)
{
    enum { N = 32, V = 6, S = 64 };
    hsize_t di[4] = { N, V, S, S }, dn[1] = { N };
    static uint8_t img[N * V * S * S];
    int32_t lab[N], ids[N];
    uint64_t z = 1;
    hid_t f;

    if (argc != 2)
        return fprintf(stderr, "usage: mkdata DATA.h5\n"), 2;
    for (size_t i = 0; i < sizeof(img); i++) {
        z = z * 6364136223846793005ull + 1442695040888963407ull;
        img[i] = (uint8_t)(z >> 56);
    }
    for (int i = 0; i < N; i++) {
        lab[i] = 0;
        ids[i] = i;
    }
    f = H5Fcreate(argv[1], H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0 || put(f, "images", H5T_NATIVE_UINT8, 4, di, img) ||
        put(f, "labels", H5T_NATIVE_INT32, 1, dn, lab) ||
        put(f, "design_id", H5T_NATIVE_INT32, 1, dn, ids))
        return fprintf(stderr, "mkdata: cannot write %s\n", argv[1]), 1;
    H5Fclose(f);
    return 0;
}

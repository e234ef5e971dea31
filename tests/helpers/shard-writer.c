/*
 * tests/helpers/shard-writer.c - writes a run with values known in advance,
 * for the crash-safety, follow and h5py tests:
 *   shard-writer DIR STEPS ELEMS SLEEP_MS [N_TENSORS [DURABLE]]   (DURABLE: 0 none, 1 sync, 2 async)
 * Tensor k at step s holds v[i] = ((s*131 + i*7 + k) % 251 - 100) / 8 (float32).
 * STEPS = 0 writes until killed or until DIR/STOP appears.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/buf.h"
#include "readers/writer.h"

int main(int argc, char **argv)
{
    vsim_writer_params wp = VSIM_WRITER_PARAMS_INIT;
    vsim_save_config every = VSIM_SAVE_CONFIG_INIT;
    vsim_writer *w;
    long steps, elems, sleep_ms, n_tensors;
    float *v;
    int64_t s;
    const char *status = "completed";

    if (argc < 5)
        return 2;
    steps = atol(argv[2]);
    elems = atol(argv[3]);
    sleep_ms = atol(argv[4]);
    n_tensors = argc > 5 ? atol(argv[5]) : 3;
    wp.durable = argc > 6 ? atoi(argv[6]) : VSIM_DURABLE_SYNC;
    v = malloc((size_t)elems * sizeof(float));
    every.save_interval = 1;
    wp.hyperparams_json = "{\"lr\": 0.001, \"batch\": 64}";
    wp.model_json = "{\"layers\": [\"layer0\", \"layer1\"]}";
    if (!v || vsim_writer_open(argv[1], &wp, &w) ||
        vsim_writer_set_collection(w, "weights", NULL, &every) ||
        vsim_writer_set_collection(w, "losses", NULL, &every)) {
        fprintf(stderr, "shard-writer: %s\n", vsim_errmsg());
        return 1;
    }
    for (s = 0; steps == 0 || s < steps; s++) {
        size_t shape[1] = { (size_t)elems }, one = 1;
        vsim_tensor t;
        float loss = 1.0f / (float)(s + 1);

        if (vsim_writer_begin_step(w, s, VSIM_MODE_TRAIN, s))
            break;
        for (long k = 0; k < n_tensors; k++) {
            vsim_buf name = VSIM_BUF_INIT;

            for (long i = 0; i < elems; i++)
                v[i] = (float)((double)((s * 131 + i * 7 + k) % 251) - 100.0) / 8.0f;
            vsim_buf_addf(&name, "layer%ld/weight", k);
            vsim_tensor_init(&t, VSIM_F32, 1, shape, v);
            if (vsim_writer_save(w, name.buf, "weights", &t))
                break;
            vsim_buf_release(&name);
        }
        vsim_tensor_init(&t, VSIM_F32, 1, &one, &loss);
        if (vsim_writer_save(w, "loss", "losses", &t) || vsim_writer_end_step(w)) {
            fprintf(stderr, "shard-writer: %s\n", vsim_errmsg());
            return 1;
        }
        printf("%lld\n", (long long)s);
        fflush(stdout);
        if (vsim_writer_stop_requested(w)) {
            status = "stopped";
            s++;
            break;
        }
        if (sleep_ms)
            nanosleep(&(struct timespec){ sleep_ms / 1000, (sleep_ms % 1000) * 1000000L }, NULL);
    }
    free(v);
    if (vsim_writer_close(w, status, s - 1)) {
        fprintf(stderr, "shard-writer: %s\n", vsim_errmsg());
        return 1;
    }
    return 0;
}

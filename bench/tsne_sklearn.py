#!/usr/bin/python3
# bench/tsne_sklearn.py - the scikit-learn anchor of bench/bench-tsne.sh (issue 7):
#   tsne_sklearn.py DATA.f32 N SEED OUT.csv
# DATA.f32 is N x 784 raw float32 (Fashion-MNIST / 255). Times PCA to 50 dims
# plus Barnes-Hut TSNE (perplexity 30, theta 0.5, 1000 iterations, exaggeration
# 12, learning rate auto, PCA init, n_jobs=2), writes the layout as CSV and
# prints one JSON line: {"seconds", "version", "maxrss_kb", "kl_sklearn"}.
import json
import resource
import sys
import time

import numpy as np
import sklearn
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

path, n, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
x = np.fromfile(path, dtype=np.float32).reshape(n, 784)
t0 = time.perf_counter()
x50 = PCA(n_components=50, random_state=seed).fit_transform(x)
tsne = TSNE(n_components=2, perplexity=30.0, early_exaggeration=12.0, learning_rate="auto",
            n_iter=1000, init="pca", method="barnes_hut", angle=0.5, n_jobs=2,
            random_state=seed)
y = tsne.fit_transform(x50)
secs = time.perf_counter() - t0
np.savetxt(out, y, delimiter=",", header="x,y", comments="", fmt="%.9g")
print(json.dumps({"seconds": secs, "version": sklearn.__version__,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "kl_sklearn": float(tsne.kl_divergence_)}))

#!/usr/bin/python3
# tests/ref/tsne_sklearn_ref.py - the quality oracle of tests/unit/test_tsne.c (issue 7):
# scikit-learn's Barnes-Hut TSNE on the first 2,000 Fashion-MNIST training images
# (pixels / 255, PCA to 50 dims, perplexity 30, theta 0.5, 1000 iterations,
# exaggeration 12, learning rate auto, PCA init), then the exact KL(P || Q) of its
# embedding with scikit-learn's own sparse P (k = 90 neighbours) and the exact Q.
# Run: /usr/bin/python3 tests/ref/tsne_sklearn_ref.py > tests/ref/tsne_sklearn_ref.txt
import gzip
import sys

import numpy as np
import sklearn
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.manifold._t_sne import _joint_probabilities_nn
from sklearn.neighbors import NearestNeighbors
from scipy.spatial.distance import pdist

N = 2000
path = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
with gzip.open(path) as f:
    raw = f.read(16 + N * 784)
x = np.frombuffer(raw[16:], dtype=np.uint8).reshape(N, 784).astype(np.float32) / 255.0
x50 = PCA(n_components=50, svd_solver="full").fit_transform(x).astype(np.float32)


def exact_kl(x50, y, perplexity=30.0):
    k = min(len(x50) - 1, int(3.0 * perplexity + 1))
    nn = NearestNeighbors(n_neighbors=k, metric="euclidean").fit(x50)
    d = nn.kneighbors_graph(mode="distance")
    d.data **= 2
    P = _joint_probabilities_nn(d, perplexity, 0).tocoo()
    w = 1.0 / (1.0 + pdist(y, "sqeuclidean"))
    Z = 2.0 * w.sum()
    dy = ((y[P.row] - y[P.col]) ** 2).sum(1)
    q = 1.0 / (1.0 + dy) / Z
    return float((P.data * np.log(np.maximum(P.data, 1e-300) / q)).sum())


kls = []
for seed in range(3):
    t = TSNE(n_components=2, perplexity=30.0, early_exaggeration=12.0, learning_rate="auto",
             n_iter=1000, init="pca", method="barnes_hut", angle=0.5, random_state=seed,
             n_jobs=2)
    y = t.fit_transform(x50)
    kls.append(exact_kl(x50, y.astype(np.float64)))
print("# scikit-learn %s TSNE, Fashion-MNIST train[0:2000]/255, PCA 50, perplexity 30, "
      "theta 0.5, 1000 its, seeds 0-2: exact KL" % sklearn.__version__)
print("sklearn_version %s" % sklearn.__version__)
print("kl_mean %.6f" % (sum(kls) / len(kls)))
print("kl_seeds %s" % " ".join("%.6f" % k for k in kls))

"""``python -m sklearn_set``: train SETClassifier on the bundled digits data
and print test accuracy, sparsity and connection counts."""

import sys
import time

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import SETClassifier


def main(argv=None):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0)
    model = make_pipeline(StandardScaler(), SETClassifier(
        hidden_layer_sizes=(256, 256), sparsity=0.9, random_state=0))
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    clf = model[-1]
    dense = sum(c.shape[0] * c.shape[1] for c in clf.coefs_)
    print("SETClassifier on load_digits (1347 train / 450 test samples)")
    print("  layers            64-256-256-10")
    print(f"  test accuracy     {model.score(X_test, y_test):.4f}")
    print(f"  sparsity          {clf.sparsity_:.4f} (requested 0.9, Erdos-Renyi epsilon "
          f"{clf.epsilon_:.2f})")
    print(f"  connections       {int(clf.n_connections_.sum())} of {dense} "
          f"(per layer: {', '.join(str(int(n)) for n in clf.n_connections_)})")
    print(f"  epochs            {clf.n_iter_}")
    print(f"  fit time          {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

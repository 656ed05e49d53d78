"""Size of saved models: the ``.skops`` file (and its ``schema.json``) and the
pickle of fitted digits pipelines, against their connection counts.

The model is the one ``sklearn-set train --dataset digits --hidden 256,256
--epochs 200 --sparsity S`` fits: ``StandardScaler`` +
``SETClassifier(hidden_layer_sizes=(256, 256), max_iter=200,
random_state=0)`` (or ``AccSETClassifier`` with ``--accset``) on a
stratified 75% of digits, at each sparsity of ``--sparsities``. The file is
written with ``skops.io.dump`` (no compression); ``deflated`` is the same
file written with ``compression=zipfile.ZIP_DEFLATED``, as the command line
writes it (which also stores the feature names). ``arrays`` is the bytes of the
``.npy`` members, ``members`` their count.

    nice python benchmarks/model_file_size.py
    nice python benchmarks/model_file_size.py --sparsities 0.9 --epochs 50 --accset
"""

import argparse
import pickle
import tempfile
import warnings
import zipfile
from pathlib import Path

import skops.io
from _common import footer, header, table
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_set import AccSETClassifier, SETClassifier


def measure(model, folder):
    plain, deflated = folder / "m.skops", folder / "m-deflated.skops"
    skops.io.dump(model, plain)
    skops.io.dump(model, deflated, compression=zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(plain) as archive:
        infos = archive.infolist()
    clf = model[-1]
    return {
        "sparsity": round(float(clf.sparsity_), 4),
        "connections": int(clf.n_connections_.sum()),
        "epochs": clf.n_iter_,
        "skops bytes": plain.stat().st_size,
        "schema.json": sum(i.file_size for i in infos if i.filename == "schema.json"),
        "arrays": sum(i.file_size for i in infos if i.filename.endswith(".npy")),
        "members": len(infos),
        "deflated": deflated.stat().st_size,
        "pickle bytes": len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sparsities", default="0.9,0.999,0.9999")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--accset", action="store_true")
    args = parser.parse_args()
    header("model file size (digits, the model of 'sklearn-set train')")
    X, y = load_digits(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.25, stratify=y,
                                              random_state=0)
    cls = AccSETClassifier if args.accset else SETClassifier
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for sparsity in (float(s) for s in args.sparsities.split(",")):
            model = make_pipeline(StandardScaler(), cls(
                hidden_layer_sizes=(256, 256), sparsity=sparsity, max_iter=args.epochs,
                random_state=0))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X_train, y_train)
            rows.append({"model": cls.__name__, **measure(model, Path(folder))})
    table(rows, ["model", "sparsity", "connections", "epochs", "skops bytes", "schema.json",
                 "arrays", "members", "deflated", "pickle bytes"])
    footer()


if __name__ == "__main__":
    main()

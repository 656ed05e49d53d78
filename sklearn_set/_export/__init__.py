"""Deployment: compaction of a fitted sparse network, C99 export and
conversion to scikit-learn's dense MLPs."""

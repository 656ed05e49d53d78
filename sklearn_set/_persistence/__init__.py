"""Model files: :func:`save_model` and :func:`load_model`, the one loader
of the command line and of Python. A ``.skops`` file holds data of the
types on an allow-list (:mod:`.allowed`), checked as text before anything
is imported (:mod:`.audit`), and the networks it holds are consistent
(:mod:`.consistency`); a pickle is loaded only when trusted. Files are
written whole or not at all (:mod:`sklearn_set._atomic`)."""

from .files import ModelFileError, load_model, save_model

__all__ = ["ModelFileError", "load_model", "save_model"]

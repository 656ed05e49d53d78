"""scikit-learn's callback API (``sklearn.callback``, scikit-learn >= 1.9),
when it exists.

With scikit-learn 1.9 the estimators inherit ``CallbackSupportMixin``
(``set_callbacks``) and report each epoch as a task. On 1.6-1.8 the stand-ins
below make every hook a no-op and add no public method, so the fit loop is
the same code on every version.
"""

try:
    from sklearn.callback import CallbackSupportMixin, with_callbacks
except ImportError:  # scikit-learn < 1.9

    class _NoCallbackContext:
        """Every hook of a callback context, doing nothing."""

        def subcontext(self, *args, **kwargs):
            return self

        def call_on_fit_task_begin(self, **kwargs):
            return self

        def call_on_fit_task_end(self, **kwargs):
            return False  # never asks to stop

    class CallbackSupportMixin:
        """Stand-in: no ``set_callbacks`` before scikit-learn 1.9."""

        def _init_callback_context(self, *args, **kwargs):
            return _NoCallbackContext()

    def with_callbacks(method):
        return method


__all__ = ["CallbackSupportMixin", "with_callbacks"]

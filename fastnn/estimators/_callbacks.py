"""A fit's iterations as subtasks of scikit-learn's callbacks (``sklearn.callback``),
the one bridge every fastnn estimator's solvers report through."""

__all__ = ["IterationTasks", "has_callbacks"]


def has_callbacks(estimator):
    """Whether ``estimator`` has callbacks of its own or is fitted inside a
    meta-estimator's task tree (which its subtasks join)."""
    state = estimator.__dict__
    return "_skl_callbacks" in state or "_parent_callback_ctx" in state


class IterationTasks:
    """Iterations (or epochs) as subtasks of a fit task (scikit-learn's
    ``_LbfgsCallbackBridge``, for any solver): the first begins at construction, at the
    starting weights; :meth:`end_and_begin` ends one and begins the next; :meth:`close`
    ends the last begun, which never ran (its fitted estimator is None), so that every
    begin has its end.

    ``fitted_at(*state)`` returns a callable giving the attributes that make a copy
    of the estimator a fitted one at ``state`` (the solver's weights, and its
    objective ``loss_`` when known); scikit-learn calls it only when a callback asks
    for the ``fitted_estimator``, at the hook, so the weights are those of that moment.
    """

    def __init__(self, context, task_name, estimator, X, y, metadata, fitted_at,
                 *state):
        self.context, self.task_name, self.estimator = context, task_name, estimator
        self.data = {"X": X, "y": y, "metadata": metadata}
        self.fitted_at = fitted_at
        self.task = self._begin(state)

    def _begin(self, state):
        task = self.context.subcontext(task_name=self.task_name)
        task.call_on_fit_task_begin(estimator=self.estimator, **self.data,
                                    reconstruction_attributes=self.fitted_at(*state))
        return task

    def end_and_begin(self, *state):
        """One iteration ended at ``state`` (``fitted_at``'s arguments); returns
        whether a callback asks to stop."""
        stop = self.task.call_on_fit_task_end(
            estimator=self.estimator, **self.data,
            reconstruction_attributes=self.fitted_at(*state),
        )
        self.task = self._begin(state)
        return bool(stop)

    def close(self):
        """End the iteration begun last, which never ran."""
        self.task.call_on_fit_task_end(estimator=self.estimator)

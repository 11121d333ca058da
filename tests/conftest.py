"""Fixtures shared by the test files (plain helpers live in tests/support.py)."""

import pytest


@pytest.fixture
def patch_objective(monkeypatch):
    """Wrap a training objective class's ``__call__`` for the length of a test.

    ``patch_objective(cls, action)`` runs ``action(i, self, X, Y, original)`` as
    call i (1-based) of any ``cls`` objective (``original(self, X, Y)`` passes on
    the mini-batch's sample weights); ``patch_objective(cls)`` only
    watches.  Either returns the list of the parameters at the start of every call
    (copies).  ``monkeypatch.undo()`` takes the patches off.
    """

    def patch(cls, action=None):
        original = cls.__call__
        snapshots = []

        def patched(self, X, Y=None, weights=None):
            snapshots.append([p.copy() for p in self.params])
            if action is None:
                return original(self, X, Y, weights)

            # an action calls original(self, X, Y): the mini-batch's weights ride
            def call(obj, X, Y=None):
                return original(obj, X, Y, weights)

            return action(len(snapshots), self, X, Y, call)

        monkeypatch.setattr(cls, "__call__", patched)
        return snapshots

    return patch

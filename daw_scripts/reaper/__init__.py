"""DAWBridge's ReaScripts: one thin script per action (``DAWBridge_*.py``) and the modules they
share: reading the selection (``reading``), planning each action's requests (``actions``),
waiting on the engine from REAPER's timer (``runner``), inserting results (``writing``),
settings (``preferences``) and user-facing text (``messages``).

REAPER runs each action script as ``__main__`` with the ``RPR_`` API in its globals; the
script puts the folder that holds ``daw_scripts`` on ``sys.path`` and hands its globals to
``actions.main``. Python 3.7, standard library only; never imports ``bridge`` or ``models``.
"""

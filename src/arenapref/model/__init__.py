"""Preference models: features, estimators, grouped training with calibration, evaluation, ablation.

Notebook use::

    import arenapref as ap
    from arenapref.model.estimators import LGBMPreferenceModel
    from arenapref.model.kinds import load_model
    from arenapref.model.training import CalibratedPreferenceModel

    table = ap.read("train.csv", kind="battles")             # any battle source
    model = CalibratedPreferenceModel(LGBMPreferenceModel(), n_folds=5).fit(table)
    model.predict_proba(table)                              # (n, 3): A, B, tie

    ap.train(["train.csv"], "model/")                       # what `arenapref train` does
    load_model("model/").predict_proba(table)               # any kind of model folder (lgbm, llm, ...)
    ap.predict("model/", "test.csv", "submission.csv")

``kinds`` is the registry of model kinds, ``settings`` the settings of the model stages. Submodules are
imported one by one (nothing here) so that a caller needing only ``kinds.load_model`` does not pay for
matplotlib.
"""

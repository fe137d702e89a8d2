"""Preference models: features, estimators, grouped training with calibration, evaluation, ablation.

Notebook use::

    from arenapref.model.estimators import LGBMPreferenceModel
    from arenapref.model.io import load_model, predict_submission, read_battles
    from arenapref.model.training import CalibratedPreferenceModel, train_model

    table = read_battles(["train.csv"])                    # any battle source
    model = CalibratedPreferenceModel(LGBMPreferenceModel(), n_folds=5).fit(table)
    model.predict_proba(table)                              # (n, 3): A, B, tie

    train_model(["train.csv"], "model/")                    # what `arenapref train` does
    load_model("model/").predict_proba(table)               # what a teacher labeler does
    predict_submission("model/", "test.csv", "submission.csv")

Submodules are imported one by one (nothing here) so that a caller needing only ``io.load_model``
does not pay for matplotlib.
"""

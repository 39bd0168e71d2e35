"""Export: the serving signatures, the SavedModel writer, request checks, TF Serving's files
(warm-up requests, models.config), `zoo.load` for building on an export in Keras, and what
an export refuses (`gate`: NaN weights or figures, a test -ELBO worse than the trivial
`baseline`) and how a rerun finds the version its run already published (`runs`)."""

from zoo.export.savedmodel import export

__all__ = ["export"]

"""Export: the serving signatures, the SavedModel writer, request checks, TF Serving's files
(warm-up requests, models.config), and `zoo.load` for building on an export in Keras."""

from zoo.export.savedmodel import export

__all__ = ["export"]

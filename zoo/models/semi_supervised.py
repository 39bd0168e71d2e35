"""M2, the semi-supervised VAE of Kingma et al. (2014): p(y) p(z) p(x|y,z) with y a class that
is observed for labelled images and inferred, by a classifier q(y|x), for the others."""

import functools

import numpy as np
import tensorflow as tf
import tf_keras as keras

from zoo import seeds
from zoo.errors import DataError, ZooError
from zoo.layers.conditions import ClassLabel
from zoo.models import signatures
from zoo.models.base import Signature, input_shape_of, run_network
from zoo.models.importance_sampling import summed_over_classes
from zoo.models.vae import VAE
from zoo.objectives import SemiSupervised

UNLABELLED = -1  # the label of an image whose class is not given


@keras.saving.register_keras_serializable(package="zoo")
class SemiSupervisedVAE(VAE):
    """A conditional VAE over class labels with a classifier q(y|x) inside its inference model.

    `fit(images, labels)` takes labels in 0..classes-1, or `UNLABELLED` (-1) for images whose
    class is not given; the objective (`SemiSupervised`) scores labelled images at their
    class and sums the bound over every class for the others. `classify(x)` gives q(y|x);
    `sample(n, y=7)` draws a 7; `elbo(x)` without labels is the bound on log p(x) (classes
    summed out) and `elbo(x, y)` the bound on log p(x, y).

    Args:
        classifier: any Keras layer or model, images -> `classes` logits.
        encoder, posterior, decoder, likelihood, prior: as in `VAE`, with two-input networks
            (`[x, one-hot y]`, `[z, one-hot y]`).
        classes: the number of classes.
        objective: a `SemiSupervised` objective (default alpha 10).

    Example:
        m2 = zoo.build(VAEConfig(condition="class_label", classifier={"type": "mlp"},
                                 objective={"type": "semi_supervised", "alpha": 50.0}))
        m2.fit(images, labels_with_minus_ones, epochs=10); m2.classify(test_images)
    """

    METRIC_NAMES = ("loss", "reconstruction", "kl", "classification")
    label_use = "semi_supervised"  # labels are optional: none means all unlabelled
    HAS_CLASSIFIER = True

    def __init__(self, classifier, encoder, posterior, decoder, likelihood, classes=10, prior=None,
                 objective=None, image_shape=None, condition=None, **kwargs):
        objective = SemiSupervised() if objective is None else objective
        if not isinstance(objective, SemiSupervised):
            raise ZooError(f"SemiSupervisedVAE objective: expected a SemiSupervised objective, got "
                           f"{type(objective).__name__}")
        if not isinstance(classifier, keras.layers.Layer):
            raise ZooError(f"SemiSupervisedVAE classifier: expected a Keras layer or model, got {type(classifier).__name__}")
        condition = ClassLabel(classes) if condition is None else condition
        if not isinstance(condition, ClassLabel) or condition.classes != classes:
            raise ZooError(f"SemiSupervisedVAE condition: ClassLabel({classes}) (its classes), got {condition!r}")
        super().__init__(encoder, posterior, decoder, likelihood, prior=prior, objective=objective,
                         condition=condition, **kwargs)
        self.classifier = classifier  # `classes` is the ClassLabel condition's
        image_shape = image_shape or input_shape_of(classifier)
        if image_shape is not None:
            self.build((None, *image_shape))

    def build(self, input_shape):
        if self.built:
            return super().build(input_shape)  # checks the shape
        super().build(input_shape)
        logits = run_network("classifier", self.classifier, tf.zeros([1, *self.image_shape]),
                      f"images of shape {self.image_shape}")
        if tuple(logits.shape[1:]) != (self.classes,):
            raise ZooError(f"the classifier outputs {tuple(logits.shape[1:])} per example; it must give "
                           f"({self.classes},) logits: end it with keras.layers.Dense({self.classes})")

    def classify(self, x, training=None):
        """q(y|x): class probabilities [B, classes]."""
        return tf.nn.softmax(self.classifier_logits(x, training))

    def classifier_logits(self, x, training=None):
        return tf.cast(self.classifier(x, training=training), tf.float32)

    def terms(self, x, training=False, seed=None, alg="auto_select", y=None):
        """The objective's terms for images x with labels y (-1: unlabelled; None: all unlabelled).

        Every image is decoded at every class (x repeated K times, y = 0..K-1) and the
        inner bound scored there; `SemiSupervised.terms` then takes the labelled images'
        class and sums the others' over q(y|x)."""
        batch = tf.shape(x)[0]
        labels = tf.fill([batch], tf.constant(UNLABELLED, tf.int64)) if y is None else tf.cast(y, tf.int64)
        classes = tf.repeat(tf.range(self.classes, dtype=tf.int64), batch)  # [K * B]: class k for block k
        repeated = tf.tile(x, tf.concat([[self.classes], tf.ones([tf.rank(x) - 1], tf.int32)], 0))
        q, z, log_likelihood = self.draw(repeated, self.objective.samples, training, seed, alg, y=classes)
        bound = self.objective.bound.terms(q, z, log_likelihood, self.prior.given(self.condition_vector(classes)))
        del bound["kl_per_layer"]  # one stochastic layer
        per_class = {name: tf.reshape(value, [self.classes, batch]) for name, value in bound.items()}
        return self.objective.terms(per_class, self.classifier_logits(x, training), labels)

    def elbo_terms(self, x, y=None, seed=None):
        """With y, the terms of the bound on log p(x|y), as a conditional VAE's; without, those
        of the bound on log p(x) with the class summed out over q(y|x) (the KL then includes
        KL(q(y|x) || p(y)))."""
        if y is not None:
            return super().elbo_terms(x, y, seed)
        terms = self.terms(x, seed=seed)
        return terms["reconstruction"], terms["kl"]

    def encode(self, x, y=None, training=None):
        """q(z|x,y), at the classifier's most probable class when y is not given."""
        return super().encode(x, self._given_or_predicted(x, y), training)

    def reconstruction(self, x, y=None):
        return super().reconstruction(x, self._given_or_predicted(x, y))

    def _given_or_predicted(self, x, y):
        return tf.argmax(self.classifier_logits(x), axis=-1) if y is None else y

    def importance_sampled(self, x, y=None, samples=5000, seed=seeds.LOG_LIKELIHOOD_SEED):
        """With y, the estimates of log p(x|y); without, of log p(x) = log sum_y p(y) p(x|y),
        each p(x|y) estimated with `samples` importance samples (K times the work)."""
        if y is not None:
            return super().importance_sampled(x, y, samples, seed)
        return summed_over_classes(self, x, samples, seed)

    def signatures(self, samples=5000):
        """A conditional VAE's, with `classify` (x -> q(y|x)); only decode and sample take y
        (the class of the others is inferred or summed out)."""
        declared = super().signatures(samples)
        declared["classify"] = Signature(functools.partial(signatures.classify, self), ("x",))
        return declared

    def signatures_taking_labels(self, made):
        return {"decode", "sample"}

    @property
    def picture_names(self):
        return ("reconstructions", "interpolations", "class_samples")

    def _inputs(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        return x, y  # labels are optional: none means all unlabelled

    def check_labels(self, x, y):
        if y is None or isinstance(x, tf.data.Dataset) or x is None:
            return
        y = np.asarray(y)
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or len(y) != len(x):
            raise DataError(f"labels: integer labels [{len(x)}] expected (-1 for unlabelled); got {y.dtype} {y.shape}")
        if y.size and (y.min() < UNLABELLED or y.max() >= self.classes):
            raise DataError(f"labels run from {y.min()} to {y.max()}; allowed 0..{self.classes - 1}, "
                            f"and {UNLABELLED} for unlabelled images")

    def get_config(self):
        return {**super().get_config(), "classes": self.classes,
                "classifier": keras.saving.serialize_keras_object(self.classifier)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["classifier"] = keras.saving.deserialize_keras_object(config["classifier"],
                                                                     custom_objects=custom_objects)
        return super().from_config(config, custom_objects)

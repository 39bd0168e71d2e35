"""SavedModel export in TF Serving's layout: <export_dir>/<recipe>/<version>/.

Signatures wrap `zoo.signatures`, check their input (`zoo.request_checks`) and return
plain tensors, so the SavedModel loads with `tf.saved_model.load` alone (no zoo, no TFP).
`config.json` and `metrics.json` sit beside `saved_model.pb`. The version folder is written
under a temporary name and renamed into place, so TF Serving (which watches integer folder
names) never sees half an export.
"""

import contextlib
import functools
import io
import os
import shutil
import tempfile

import tensorflow as tf
import tf_keras as keras

from zoo import request_checks, serving, signatures
from zoo.atomic import rename_no_replace, write_json

STAGING_PREFIX = ".staging-"  # TF Serving loads only folders named by an integer

SIGNATURE_INPUTS = {  # signature -> (its function in zoo.signatures, input name)
    "serving_default": (signatures.reconstruct, "x"),
    "reconstruct": (signatures.reconstruct, "x"),
    "encode": (signatures.encode, "x"),
    "decode": (signatures.decode, "z"),
    "sample": (signatures.sample, "seed"),
    "elbo": (signatures.elbo, "x"),
    "log_likelihood": (signatures.log_likelihood, "x"),
}
OPTIONAL_SIGNATURE_INPUTS = {  # exported only by the variants that have the part they need
    "sample_aggregate_posterior": (signatures.sample_aggregate_posterior, "seed"),
}


def signature_inputs(model):
    """The signatures `model`'s export serves: SIGNATURE_INPUTS, plus the aggregate-posterior
    sampler when the variant fits one."""
    extra = ("sample_aggregate_posterior",) if getattr(model, "aggregate_posterior", None) else ()
    return {**SIGNATURE_INPUTS, **{name: OPTIONAL_SIGNATURE_INPUTS[name] for name in extra}}


def input_spec(model, input_name):
    """The batched TensorSpec a signature takes."""
    shapes = {"x": ([None, *model.variant.image_shape], tf.float32),
              "z": ([None, *model.code_shape], tf.float32),
              "seed": ([None], tf.int64)}
    shape, dtype = shapes[input_name]
    return tf.TensorSpec(shape, dtype, name=input_name)


def signature_options(recipe):
    """Settings fixed into signatures at export: log_likelihood's number of samples."""
    return {"log_likelihood": {"num_samples": recipe.train.log_likelihood_samples}}


def _endpoint(model, function, input_name, options):
    spec = input_spec(model, input_name)  # its name becomes the signature's input key
    return tf.function(request_checks.checked(functools.partial(function, model, **options), spec),
                       input_signature=[spec])


def next_version(recipe_dir):
    versions = [int(name) for name in os.listdir(recipe_dir) if name.isdigit()] if os.path.isdir(recipe_dir) else []
    return max(versions, default=0) + 1


def export(model, recipe, export_dir, metrics):
    """Write the next version of `recipe`'s export and return its path.

    The version is written in a `STAGING_PREFIX` folder beside the versions and renamed into
    place only when complete. It never replaces a version: if another export takes the
    number first, this one takes the next. If anything fails, the staging folder is removed
    and the recipe folder is left as it was.
    """
    archive = keras.export.ExportArchive()
    archive.track(model)
    options = signature_options(recipe)
    for name, (function, input_name) in signature_inputs(model).items():
        archive.add_endpoint(name, _endpoint(model, function, input_name, options.get(name, {})))
    recipe_dir = os.path.join(export_dir, recipe.name)
    os.makedirs(recipe_dir, exist_ok=True)  # only now: a model that cannot be traced leaves nothing
    staging = tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=recipe_dir)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints the staging path
            archive.write_out(staging)
        write_json(os.path.join(staging, "config.json"), recipe.to_dict())
        write_json(os.path.join(staging, "metrics.json"), metrics)
        serving.write_warmup_requests(model, recipe.name, staging)
        os.chmod(staging, 0o755)
        while True:
            path = os.path.join(recipe_dir, str(next_version(recipe_dir)))
            try:
                rename_no_replace(staging, path)
            except FileExistsError:  # another export took the number after the listing
                continue
            serving.write_models_config(export_dir)
            return path
    finally:
        shutil.rmtree(staging, ignore_errors=True)

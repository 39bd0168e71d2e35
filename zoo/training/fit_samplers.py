"""`zoo fit-samplers EXPORT --samplers gaussian_mixture,two_stage,flow`: fit post-hoc samplers
to an exported model's encoded training set and publish the model with them as the next
version of its folder, its weights unchanged.

The export's recipe (`config.json`) names its dataset; the samplers are fitted to the codes
of its training split (as `zoo train` fits them after training, `VAE.fit_samplers`), and the
version is written by the same `zoo.export` path as `zoo train`'s: the gate, the weights
stored once, `model.keras`, the recipe with its samplers, and `metrics.json`: the previous
version's, plus what each sampler's fit took (`samplers`) and where it came from
(`samplers_fitted_to`). `models.config` of the export folder is rewritten.
"""

import dataclasses
import os
import time

from zoo import data as zoo_data
from zoo.config import Recipe
from zoo.data.training_data import TrainingData
from zoo.errors import ConfigError, ZooError
from zoo.export import serving
from zoo.export.savedmodel import export
from zoo.layers.samplers import SAMPLERS
from zoo.models.kinds import load_preset
from zoo.models.presets import preset_path, read_json


def sampler_specs(names):
    """[{"type": name}] of a comma-separated list of sampler kinds, checked."""
    names = [name.strip() for name in (names.split(",") if isinstance(names, str) else names) if name.strip()]
    if not names:
        raise ConfigError("--samplers", "", ", ".join(SAMPLERS.names()))
    if len(set(names)) != len(names):
        raise ConfigError("--samplers", ",".join(names), "each kind once")
    return [SAMPLERS.spec(name, "--samplers") for name in names]


def fit_samplers(export_path, samplers, data_dir=None, export_dir=None, download=False, command=None,
                 verbose=True):
    """Fit `samplers` (kinds, or a comma-separated string) to the export's encoded training
    set; write the model with them as the next version in `export_dir` (default: the export's
    own folder's parent, so the same model folder) and return its path."""
    version = preset_path(export_path)
    specs = sampler_specs(samplers)
    model = load_preset(version, compile=False)
    if not model.embeds:
        raise ZooError(f"{version} holds a {model.KIND}, which has no vector code per image to fit a sampler to")
    model = model.with_samplers([SAMPLERS.make(spec, "--samplers") for spec in specs])  # rules refuse here
    recipe = Recipe.from_dict(read_json(version, "config.json"))
    metrics = read_json(version, "metrics.json", default={})
    kinds = {spec["type"] for spec in specs}
    kept = tuple(spec for spec in recipe.model.sampler_specs() if spec["type"] not in kinds)
    recipe = dataclasses.replace(recipe, model=recipe.model.replace(samplers=kept + tuple(specs),
                                                                    aggregate_posterior_components=0))
    source = zoo_data.resolve(recipe.train.dataset, data_dir, recipe.train.image_size, recipe.train.channels)
    if tuple(source.image_shape) != tuple(model.image_shape):
        raise ZooError(f"{version} takes images of shape {model.image_shape}, but {source.name} holds "
                       f"{tuple(source.image_shape)}: give the --data-dir it was trained on")
    images = TrainingData(source, recipe.train, data_dir, download, resident=False).train_images()
    start = time.perf_counter()
    taken = model.fit_samplers(images, seed=recipe.train.seed, verbose=verbose)
    seconds = time.perf_counter() - start
    metrics = {**metrics, "samplers": {**metrics.get("samplers", {}), **taken},
               "samplers_fitted_to": {"weights_of": os.path.abspath(version), "train_images": len(images),
                                      "seconds": round(seconds, 1), "command": command}}
    folder = os.path.dirname(os.path.abspath(version))
    export_dir = export_dir or os.path.dirname(folder)
    path = export(model, os.path.join(export_dir, os.path.basename(folder)), config=recipe.to_dict(),
                  metrics=metrics, name=os.path.basename(folder))
    serving.write_models_config(export_dir)
    if verbose:
        print(f"Fitted {', '.join(sorted(kinds))} in {seconds:.0f} s; exported to {path}", flush=True)
    return path

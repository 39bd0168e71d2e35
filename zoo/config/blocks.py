"""Block specs: the one way a config names a block, `{"type": name, **arguments}`.

`spec_form` gives a spec its form without importing anything (a bare name, the `--set
prior=vamp` shorthand, becomes `{"type": "vamp"}`); `normalize_block` checks it against its
role's registry and `make_block` builds it. The registries live with the blocks, which
import TensorFlow, so they are reached only when a spec is checked or built.
"""

import re

from zoo.errors import ConfigError


def registries():
    """Block role -> the registry of its types (imported here: they import TensorFlow)."""
    from zoo.layers.adversaries import ADVERSARIES
    from zoo.layers.conditions import CONDITIONS
    from zoo.layers.likelihoods import LIKELIHOODS
    from zoo.layers.networks import NETWORKS
    from zoo.layers.posteriors import POSTERIORS
    from zoo.layers.priors import PRIORS
    from zoo.objectives import OBJECTIVES

    return {"network": NETWORKS, "posterior": POSTERIORS, "prior": PRIORS, "likelihood": LIKELIHOODS,
            "objective": OBJECTIVES, "condition": CONDITIONS, "classifier": NETWORKS,
            "adversary": ADVERSARIES}


def vq_registries():
    """The roles only a VQ-VAE has -> the registries of their types."""
    from zoo.layers.code_prior import CODE_PRIORS
    from zoo.layers.quantizer import QUANTIZERS

    return {"quantizer": QUANTIZERS, "code_prior": CODE_PRIORS}


def block_summaries():
    """{role: {type name: the first sentence of its docstring}} of every registered block a
    config can name (`zoo list --blocks`): a VAE's roles, a VQ-VAE's and the post-hoc samplers."""
    from zoo.layers.samplers import SAMPLERS

    roles = {**registries(), **vq_registries(), "samplers": SAMPLERS}
    roles.pop("classifier")  # a network: the same table as "network"
    return {role: {name: _first_sentence(found.get(name).__doc__) for name in found.names()}
            for role, found in roles.items()}


def _first_sentence(doc):
    paragraph = " ".join((doc or "").strip().split("\n\n")[0].split())
    end = re.search(r"(?<! al)\.\s", paragraph)  # not after "et al."
    return paragraph if end is None else paragraph[:end.start() + 1]


def registry(role):
    """The registry of the block types of `role` (a VAE's or a VQ-VAE's)."""
    if role in ("quantizer", "code_prior"):
        return vq_registries()[role]
    return registries()[role]


def block_arguments(role, kind):
    """{argument: default} of the constructor of block type `kind` in `role`."""
    return registry(role).arguments(kind)


def block_parameters(role, kind):
    """{argument: inspect.Parameter} of block type `kind` in `role`: what each argument takes."""
    return registry(role).parameters(kind)


def spec_form(role, value):
    """`value` as a spec dict, checked for form only (no registry): a name alone is the
    shorthand for `{"type": name}`; lists become tuples, so specs compare and hash."""
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise ConfigError(role, value, f'a block spec {{"type": name, ...arguments}} (or a {role} name alone)')
    return {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}


def normalize_block(role, value):
    """The spec `value`, checked against `role`'s registry: a known type, arguments it takes,
    none it needs missing."""
    return registry(role).spec(spec_form(role, value), role)


def make_block(role, spec):
    """The block object `spec` describes; its constructor's ConfigError names `role.field`."""
    return registry(role).make(spec_form(role, spec), role)

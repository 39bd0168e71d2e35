"""The generated tables of docs/ and the README: which file and marker each goes to, its
header, and its rows. A row is a template filled from one shipped export (`Row`; fields as in
`results_exports.render_row`: "t" metrics.json, "e" an evaluation, "c" config.json) or a
literal line that measures no export here: a published number with its citation, a recipe
not trained on these machines. The prose in a template describes the model; every number
in it comes from metrics.json."""

import dataclasses

import results_same_budget
import results_sample_quality
from results_exports import MissingFigure, latest_versions, render_row


@dataclasses.dataclass(frozen=True)
class Row:
    """A line about export `name` (its highest shipped version). `examples`/`samples` pick the
    evaluation the "e" fields come from (None: the latest)."""
    name: str
    template: str
    examples: int = None
    samples: int = None


@dataclasses.dataclass(frozen=True)
class Table:
    file: str
    marker: str
    header: tuple
    rows: tuple


def _recipe(name, model, data, elbo, time, data_dir=None):
    reproduce = f"zoo train {name}" + (f" --data-dir ../shared/data/{data_dir}" if data_dir else "")
    return Row(name, f"| `{name}` | {model} | {data} | {elbo} | {time} | `{reproduce}` |")


ELBO = "{t.test_neg_elbo:.2f}"
TRAINED = "{t.train_seconds:s} (CPU shared)"
BINARIZED = "MNIST, dynamic binarization, {t.epochs} epochs"
GREY = "Fashion-MNIST, [0, 1] pixels, {t.epochs} epochs"

RECIPES = Table("docs/results.md", "recipes", (
    "| recipe | model | data | test -ELBO (nats) | train time | reproduce |",
    "| --- | --- | --- | --- | --- | --- |"), (
    _recipe("digits_mlp_bernoulli", "MLP 64-128-8, Bernoulli",
            "sklearn digits (embedded), dynamic binarization, {t.epochs} epochs", ELBO, TRAINED),
    _recipe("mnist_mlp_bernoulli", "MLP 784-400-20, Bernoulli", BINARIZED, ELBO, TRAINED, "mnist"),
    _recipe("mnist_conv_bernoulli", "conv (32, 64), 16 latents, Bernoulli", BINARIZED, ELBO, TRAINED, "mnist"),
    _recipe("fashion_mnist_conv_gaussian", "conv (32, 64), 16 latents, Gaussian, learned sigma (-> 0.097)",
            GREY, ELBO + " (density)", TRAINED, "fashion_mnist"),
    _recipe("mnist_mlp_bernoulli_2d", "MLP 784-512-256-2, Bernoulli", BINARIZED, ELBO, TRAINED, "mnist"),
    _recipe("mnist_mlp_vampprior", "MLP 784-400-400-40 (tanh), VampPrior with 200 pseudo-inputs, KL warm-up over "
            "10 epochs, Bernoulli", BINARIZED, "**{t.test_neg_elbo:.2f}** (-log p(x) <= **{e.neg_log_likelihood:.2f}**)",
            TRAINED, "mnist"),
    _recipe("mnist_mlp_iaf", "MLP 784-400-400-40 (tanh), q(z\\|x) with 2 inverse autoregressive flow steps (MADEs "
            "256-256, context 32), N(0, I), KL warm-up over 10 epochs, Bernoulli", BINARIZED,
            ELBO + " (-log p(x) <= {e.neg_log_likelihood:.2f}, {e.images})", TRAINED, "mnist"),
    _recipe("mnist_mlp_categorical", "MLP 784-512-256, 30 x 10-way categorical latents (Gumbel-softmax, temperature "
            "1 -> 0.5), uniform prior, Bernoulli", BINARIZED, ELBO, TRAINED, "mnist"),
    _recipe("mnist_mlp_full_normal_mixture", "MLP 784-400-10, full-covariance q, learned 10-Gaussian mixture prior, "
            "aggregate-posterior sampler", BINARIZED, ELBO, TRAINED, "mnist"),
    _recipe("fashion_mnist_mlp_categorical_gaussian", "MLP 784-512-256, 30 x 10-way categorical latents, Gaussian "
            "with per-pixel sigma", GREY, ELBO + " (density)", TRAINED, "fashion_mnist"),
    _recipe("fashion_mnist_mlp_continuous_bernoulli", "MLP 784-512-256-20, continuous Bernoulli, KL warm-up 5 epochs, "
            "0.1 free nats per latent", GREY, ELBO + " (density)", TRAINED, "fashion_mnist"),
    _recipe("mnist_mlp_conditional", "conditional VAE, MLP 794-500-500-20, N(0, I) prior, KL warm-up 5 epochs, "
            "Bernoulli", "MNIST with labels, dynamic binarization, {t.epochs} epochs",
            ELBO + " (of log p(x\\|y)); conditional accuracy {t.conditional_accuracy:pct}", TRAINED, "mnist"),
    _recipe("fashion_mnist_mlp_conditional", "conditional VAE, MLP 794-500-500-20, learned p(z\\|y), Gaussian with "
            "learned sigma", "Fashion-MNIST with labels, [0, 1] pixels, {t.epochs} epochs",
            ELBO + " (density); conditional accuracy {t.conditional_accuracy:pct}", TRAINED, "fashion_mnist"),
    _recipe("mnist_mlp_m2_100", "semi-supervised M2, MLPs of 500, 50 latents, alpha 50",
            "MNIST, {t.labelled} labels, dynamic binarization, {t.epochs} epochs",
            ELBO + " (classes summed out); test error {t.test_error:pct2}", TRAINED, "mnist"),
    _recipe("mnist_mlp_m2_3000", "as above", "MNIST, {t.labelled} labels, {t.epochs} epochs",
            ELBO + "; test error {t.test_error:pct2}", "{t.train_seconds:s}", "mnist"),
    _recipe("mnist_conv_vq", "VQ-VAE: conv (32, 64) to 7x7 codes of 64 (EMA, restarts), Bernoulli; gated PixelCNN "
            "prior over the codes", "MNIST, dynamic binarization, {t.epochs} + {t.prior_epochs} epochs",
            ELBO + " (exact bound of the learned prior; {t.test_bits_per_dim:.4f} bits/dim)",
            "{t.train_seconds:.0f} + {t.prior_train_seconds:s} (CPU shared)", "mnist"),
    _recipe("fashion_mnist_conv_vq", "VQ-VAE: the same to 7x7 codes of 128, discretized logistic 8-bit pixels",
            "Fashion-MNIST, {t.epochs} + {t.prior_epochs} epochs",
            ELBO + " ({t.test_bits_per_dim:.4f} bits per 8-bit pixel)",
            "{t.train_seconds:.0f} + {t.prior_train_seconds:s} (CPU shared)", "fashion_mnist"),
    "| `cifar10_conv_discretized_logistic` | conv (32, 64, 128), 64 latents, discretized logistic 8-bit pixels "
    "(730,220 parameters) | CIFAR-10 from TFDS, 30 epochs | not trained here: no download on these machines; tested "
    "end to end on `tfds.testing.mock_data` | | `zoo train cifar10_conv_discretized_logistic --download` |",
))


def _loglik(name, label, examples, bold=False, units="{e.active_units} / {e.latents}"):
    nll = "**{e.neg_log_likelihood:.2f}**" if bold else "{e.neg_log_likelihood:.2f}"
    return Row(name, f"| `{name}` ({label}) | {{e.images}} | {nll} ± {{e.neg_log_likelihood_stderr:.2f}} | "
                     f"{{e.neg_elbo:.2f}} | {{e.gap:.2f}} | {units} | {{e.bits_per_dim:.3f}} | {{e.seconds:s}} |",
               examples=examples)


LADDER_UNITS = "{e.active_units} / {e.latents} (z1 {e.active_units_per_layer.z1}, z2 {e.active_units_per_layer.z2})"

LOGLIK = Table("docs/results.md", "loglik", (
    "| model | test images | -log p(x) (nats, K=5000) | -ELBO (same draws) | gap | active units | bits/dim | scoring time |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |"), (
    _loglik("mnist_mlp_ladder_vampprior_long", "ours, the same blocks, {t.epochs:,} epochs, cosine-decayed learning "
            "rate", 10000, bold=True, units=LADDER_UNITS),
    _loglik("mnist_mlp_ladder_vampprior", "ours, two layers of 40, VampPrior on top, {t.epochs} epochs", 10000,
            units=LADDER_UNITS),
    _loglik("mnist_mlp_vampprior", "ours, {t.epochs} epochs", 10000),
    _loglik("mnist_mlp_vampprior", "ours", 1000),
    _loglik("mnist_mlp_iaf", "ours, 2 IAF steps, N(0, I) prior, {t.epochs} epochs", 1000),
    _loglik("mnist_mlp_categorical", "ours, 30 x 10-way discrete latents, {t.epochs} epochs", 1000),
    _loglik("mnist_mlp_full_normal_mixture", "ours, 10 latents, {t.epochs} epochs", 1000),
    _loglik("mnist_mlp_bernoulli", "ours, {t.epochs} epochs", 10000, bold=True),
    _loglik("mnist_mlp_bernoulli", "ours", 500),
    _loglik("mnist_conv_bernoulli", "ours, {t.epochs} epochs", 500, bold=True),
    "| VampPrior, 1 stochastic layer (Tomczak & Welling 2018, Table 2) | all 10,000 | 85.57 | | | | | |",
    "| plain VAE, two tanh layers of 400, 20 latents, 60 epochs (PyTorch, measured on the same 2 cores) | all 10,000 "
    "| 88.8 | | | | | |",
    "| VAE, 1 stochastic layer, k=1 (Burda et al. 2016, Table 1) | all 10,000 | 86.76 | | | | | |",
    "| IWAE, 1 stochastic layer, k=50 (same table) | all 10,000 | 84.78 | | | | | |",
))


def _preset(name, model, examples, bold=False):
    nll = "**{e.neg_log_likelihood:.2f}**" if bold else "{e.neg_log_likelihood:.2f}"
    return Row(name, f"| `{name}` | {model} | {{t.test_neg_elbo:.2f}} | {nll} ({{e.images}}) |", examples=examples)


PRESETS = Table("README.md", "presets", (
    "| preset | model | test -ELBO (nats) | -log p(x), K=5000 (test images) |",
    "| --- | --- | --- | --- |"), (
    _preset("mnist_mlp_ladder_vampprior_long", "the same, {t.epochs:,} epochs, cosine-decayed learning rate", 10000,
            bold=True),
    _preset("mnist_mlp_ladder_vampprior", "two stochastic layers of 40 (ladder), VampPrior on top, {t.epochs} epochs",
            10000),
    _preset("mnist_mlp_vampprior", "MLP 400-400, 40 latents, VampPrior, {t.epochs} epochs", 10000),
    _preset("mnist_mlp_iaf", "MLP 400-400, 40 latents, q(z\\|x) with 2 IAF steps, {t.epochs} epochs", 1000),
    _preset("mnist_mlp_bernoulli", "MLP 400, 20 latents, {t.epochs} epochs", 10000),
    _preset("mnist_conv_bernoulli", "conv (32, 64), 16 latents, {t.epochs} epochs", 500),
    _preset("mnist_mlp_categorical", "30 x 10-way categorical latents", 1000),
    _preset("mnist_mlp_full_normal_mixture", "full-covariance q, mixture prior", 1000),
    _preset("mnist_mlp_bernoulli_2d", "2 latents, to plot", 1000),
    _preset("digits_mlp_bernoulli", "sklearn 8x8 digits", 297),
))

LABEL_PRESETS = Table("README.md", "label_presets", (
    "| preset | model | measured |",
    "| --- | --- | --- |"), (
    Row("mnist_mlp_conditional", "| `mnist_mlp_conditional` | conditional VAE, `sample(n, y=7)` | conditional accuracy "
        "**{t.conditional_accuracy:pct}**; -log p(x\\|y) {e.neg_log_likelihood:.2f} ({e.images}) |", examples=1000),
    Row("fashion_mnist_mlp_conditional", "| `fashion_mnist_mlp_conditional` | conditional VAE, learned p(z\\|y) | "
        "conditional accuracy {t.conditional_accuracy:pct} (the judge: {t.judge_test_accuracy:pct} on real images) |"),
    Row("mnist_mlp_m2_100", "| `mnist_mlp_m2_100` | semi-supervised M2, {t.labelled} labels | test error "
        "**{t.test_error:pct2}** (paper: 11.97%) |"),
    Row("mnist_mlp_m2_3000", "| `mnist_mlp_m2_3000` | semi-supervised M2, {t.labelled} labels | test error "
        "{t.test_error:pct2} (paper: 3.92%) |"),
))

VQ_PRESETS = Table("README.md", "vq_presets", (
    "| preset | model | measured (test images) |",
    "| --- | --- | --- |"), (
    Row("mnist_conv_vq", "| `mnist_conv_vq` | 7x7 codes of {t.codebook_size}, PixelCNN prior | -ELBO "
        "{t.test_neg_elbo:.2f} nats ({t.test_bits_per_dim:.4f} bits/dim); codebook perplexity "
        "{t.test_codebook_perplexity:.1f} of {t.codebook_size} |"),
    Row("fashion_mnist_conv_vq", "| `fashion_mnist_conv_vq` | 7x7 codes of {t.codebook_size}, 8-bit pixels | "
        "{t.test_bits_per_dim:.4f} bits/dim; codebook perplexity {t.test_codebook_perplexity:.1f} of "
        "{t.codebook_size} |"),
))

CONDITIONAL = Table("docs/labels.md", "conditional", (
    "| preset | test -ELBO, bound on -log p(x\\|y) | -log p(x\\|y), K=5000, first 1,000 test images | conditional "
    "accuracy (judge on real test images) | training |",
    "| --- | --- | --- | --- | --- |"), (
    Row("mnist_mlp_conditional", "| `mnist_mlp_conditional` (N(0, I) prior, {t.epochs} epochs) | {t.test_neg_elbo:.2f} | "
        "{e.neg_log_likelihood:.2f} ± {e.neg_log_likelihood_stderr:.2f} (-ELBO {e.neg_elbo:.2f} on the same images) | "
        "**{t.conditional_accuracy:pct}** (judge {t.judge_test_accuracy:pct}); per class "
        "{t.conditional_accuracy_per_class:range_pct} | {t.train_seconds:s} |", examples=1000),
    Row("fashion_mnist_mlp_conditional", "| `fashion_mnist_mlp_conditional` (learned p(z\\|y), Gaussian, {t.epochs} "
        "epochs) | {t.test_neg_elbo:.2f} (a density of [0, 1] pixels) | {e.neg_log_likelihood:.2f} ± "
        "{e.neg_log_likelihood_stderr:.2f} | {t.conditional_accuracy:pct} (judge {t.judge_test_accuracy:pct}) | "
        "{t.train_seconds:s} |", examples=1000),
))

M2_ERRORS = Table("docs/labels.md", "m2_errors", (
    "| labels | this zoo: M2 (`mnist_mlp_m2_*`), test error of q(y\\|x), all 10,000 test images | target | Kingma et "
    "al. 2014, Table 1: M2 | M1+M2 |",
    "| --- | --- | --- | --- | --- |"), (
    Row("mnist_mlp_m2_100", "| {t.labelled} | **{t.test_error:pct2}** ({t.epochs} epochs) | <= 15% | 11.97% | 3.33% |"),
    "| 600 | not trained (`--set labelled=600`) | | 4.94% | |",
    "| 1000 | not trained (`--set labelled=1000`) | | 3.60% | |",
    Row("mnist_mlp_m2_3000", "| {t.labelled} | **{t.test_error:pct2}** ({t.epochs} epochs) | <= 5% | 3.92% | |"),
))

M2_PRESETS = Table("docs/labels.md", "m2_presets", (
    "| preset | test error | test -ELBO (bound on -log p(x), classes summed out) | epochs | training |",
    "| --- | --- | --- | --- | --- |"), tuple(
    Row(name, f"| `{name}` | {{t.test_error:pct2}} | {{t.test_neg_elbo:.2f}} | {{t.epochs}} | {{t.train_seconds:s}} |")
    for name in ("mnist_mlp_m2_100", "mnist_mlp_m2_3000")))


VQ_VAE = Table("docs/vq_vae.md", "vq_exports", (
    "| recipe | model | shipped export (10 + 10 epochs, 2 CPU cores shared with other jobs) |",
    "| --- | --- | --- |"), (
    Row("mnist_conv_vq", "| `mnist_conv_vq` | conv (32, 64) -> 7x7 codes of {t.codebook_size} (EMA, restarts), "
        "Bernoulli pixels, PixelCNN 32 filters x 5 layers | test -ELBO **{t.test_neg_elbo:.2f}** nats = reconstruction "
        "{t.test_reconstruction:.2f} + KL {t.test_kl:.2f}; **{t.test_bits_per_dim:.4f} bits/dim**; perplexity "
        "**{t.test_codebook_perplexity:.1f} of {t.codebook_size}**, {t.test_dead_codes:unused}; "
        "{t.train_seconds:s} + {t.prior_train_seconds:s} |"),
    Row("fashion_mnist_conv_vq", "| `fashion_mnist_conv_vq` | the same to 7x7 codes of {t.codebook_size}, discretized "
        "logistic 8-bit pixels | test -ELBO {t.test_neg_elbo:.2f} nats = {t.test_reconstruction:.2f} + "
        "{t.test_kl:.2f}; **{t.test_bits_per_dim:.4f} bits per 8-bit pixel**; perplexity "
        "**{t.test_codebook_perplexity:.1f} of {t.codebook_size}**, {t.test_dead_codes:unused}; "
        "{t.train_seconds:s} + {t.prior_train_seconds:s} |"),
))


NLL_1000 = "{e1000.neg_log_likelihood:.2f} ± {e1000.neg_log_likelihood_stderr:.2f}"
NLL_BOTH = "{e1000.neg_log_likelihood:.2f} (all 10,000: **{e10000.neg_log_likelihood:.2f} ± " \
           "{e10000.neg_log_likelihood_stderr:.2f}**)"

BLOCKS = Table("docs/results.md", "blocks", (  # the 20-epoch trials are not exports: their rows are as measured
    "| variant (20 epochs unless stated) | test -ELBO | -log p(x), first 1,000 | change |",
    "| --- | --- | --- | --- |"), (
    "| standard normal prior, ELBO | 100.86 | 92.33 ± 0.77 | |",
    "| standard normal prior, IWAE k=5 (`--set objective=iwae --set samples=5`) | 104.42 | 91.44 ± 0.76 | IWAE "
    "objective: -0.9 |",
    "| standard normal prior, q(z\\|x) with 2 IAF steps (`zoo train mnist_mlp_iaf --epochs 20`) | 100.53 | 91.66 ± "
    "0.78 | IAF posterior: -0.7 |",
    "| VampPrior (200 pseudo-inputs), ELBO | 97.42 | 89.98 ± 0.81 | VampPrior: -2.4 |",
    "| two stochastic layers of 40 (ladder), VampPrior on the top one (`zoo train mnist_mlp_ladder_vampprior --epochs "
    "20 --set network.hidden_units=400,400 --set warmup_epochs=10`) | 98.18 | 89.42 ± 0.80 | second layer: -0.6 |",
    Row("mnist_mlp_vampprior", "| VampPrior, ELBO, {t.epochs} epochs (the shipped recipe) | {t.test_neg_elbo:.2f} | "
        + NLL_1000 + " | 80 more epochs: -4.0 |"),
))

DEEPER = Table("docs/deeper_models.md", "blocks", (  # trials A-C and the 20-epoch rows are not exports
    "| model (20 epochs unless stated) | -log p(x), first 1,000 | change |",
    "| --- | --- | --- |"), (
    "| N(0, I) prior, Gaussian q, ELBO | 92.33 ± 0.77 | |",
    "| + IWAE objective, k = 5 | 91.44 ± 0.76 | -0.9 |",
    "| + IAF posterior, 2 steps (instead of IWAE) | 91.66 ± 0.78 | -0.7 |",
    "| VampPrior (200 pseudo-inputs), Gaussian q, ELBO | 89.98 ± 0.81 | -2.4 from the prior |",
    "| + a second stochastic layer (ladder, VampPrior on top) | 89.42 ± 0.80 | -0.6 |",
    Row("mnist_mlp_vampprior", "| VampPrior, one layer, {t.epochs} epochs (`mnist_mlp_vampprior`) | " + NLL_1000
        + " | -4.0 from 80 more epochs |"),
    Row("mnist_mlp_iaf", "| IAF, one layer, {t.epochs} epochs (`mnist_mlp_iaf`) | " + NLL_1000 + " | |"),
    Row("mnist_mlp_ladder_vampprior", "| ladder, two layers of 40, VampPrior on top, MLPs of 300, {t.epochs} epochs "
        "(`mnist_mlp_ladder_vampprior`) | " + NLL_BOTH + " | |"),
    "| the same blocks, 100 epochs, ELBO (trial A) | 85.18 ± 0.75 | |",
    "| + IWAE objective, k = 5, warm-up 20 epochs (trial B; 2.2x the time an epoch) | 85.52 ± 0.75 | +0.3 from A: "
    "not taken |",
    "| + learning rate decayed to 0 along a cosine (trial C, ELBO) | 84.20 ± 0.73 | -1.0 from A |",
    Row("mnist_mlp_ladder_vampprior_long", "| the same blocks, cosine decay, {t.epochs:,} epochs "
        "(`mnist_mlp_ladder_vampprior_long`) | " + NLL_BOTH + " | -2.9 from the 400-epoch model |"),
))


DISENTANGLEMENT = Table("docs/disentanglement.md", "shipped", (
    "| | measured |",
    "| --- | --- |"), (
    Row("shapes_mlp_beta_tcvae", "| MIG / FactorVAE score | {t.mig:.3f} / {t.factor_vae_score:.3f} |"),
    Row("shapes_mlp_beta_tcvae", "| test -ELBO | {t.test_neg_elbo:.2f} nats (reconstruction {t.test_reconstruction:.2f}"
        " + KL {t.test_kl:.2f}), all {t.test_examples:,} test images |"),
    Row("shapes_mlp_beta_tcvae", "| `zoo evaluate --examples {e.examples}` | -log p(x) <= {e.neg_log_likelihood:.2f} "
        "nats (K = {e.samples}, s.e. {e.neg_log_likelihood_stderr:.2f}); {e.active_units} of {e.latents} units "
        "active; KL per latent {e.kl_per_dimension:kl_desc} |", examples=500),
    Row("shapes_mlp_beta_tcvae", "| training | {t.epochs} epochs in {t.train_seconds:s} |"),
))


def tables():
    return (RECIPES, LOGLIK, PRESETS, LABEL_PRESETS, VQ_PRESETS, CONDITIONAL, M2_ERRORS, M2_PRESETS, VQ_VAE, BLOCKS,
            DEEPER, DISENTANGLEMENT)


def doc_files():
    """Every file that holds a generated block."""
    return sorted({table.file for table in tables()} | {"docs/results.md", "saved_models/README.md"})


def render_table(table, latest):
    """The lines of `table`, each Row filled from the highest shipped version of its model."""
    lines = list(table.header)
    for row in table.rows:
        if isinstance(row, str):
            lines.append(row)
            continue
        if row.name not in latest:
            raise MissingFigure(f"{table.file} [{table.marker}]: no shipped export named {row.name}")
        lines.append(render_row(row.template, latest[row.name], row.examples, row.samples))
    return lines


def tables_by_file(versions, root):
    """file -> {marker: the generated block's text}, from every shipped version (`Export`s
    sorted by name and version; the tables read the highest version of each model) and the
    same-budget runs' figures under `root`."""
    latest = latest_versions(versions)
    files = {}
    for table in tables():
        files.setdefault(table.file, {})[table.marker] = _block(render_table(table, latest))
    files["docs/results.md"]["sample_quality"] = _block(results_sample_quality.table(latest))
    files["docs/results.md"]["same_budget"] = _block(results_same_budget.table(root))
    files["docs/results.md"]["same_budget_quality"] = _block(results_same_budget.quality_table(root))
    files["saved_models/README.md"] = {"model_cards": _block(model_card_list(versions))}
    return files


def model_card_list(versions):
    """One line per model: a link to each shipped version's card."""
    names = sorted({export.name for export in versions})
    return [f"- `{name}`: " + ", ".join(f"[version {e.version}]({name}/{e.version}/MODEL_CARD.md)"
                                       for e in versions if e.name == name) for name in names]


def _block(lines):
    return "\n".join(["", *lines, ""])

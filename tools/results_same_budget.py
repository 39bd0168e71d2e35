"""The same-budget tables of docs/results.md: each likelihood model of the zoo trained with the
same networks, data, epochs and seed as the plain VAE, scored the same way, beside the
figure its paper reports and pythae's reproduction, each with its own protocol; and
[same_budget_quality], every such run whose samples were measured (FID, KID,
precision/recall per sampler in the domain feature space, beside the two floors).

The figures are read from benchmarks/results/same_budget_mnist.json, which
`benchmarks/same_budget.py` writes and tools/collect_same_budget.py gathers (its runs are
not shipped exports: they are trained for the comparison alone); the published figures and
their protocols are the literal text below, each with where it was found.
"""

import json
import pathlib
import statistics

from results_exports import MissingFigure

FOLDER_FLAGS = ("--export-dir", "--workdir", "--output-dir", "--data-dir")
FILE = pathlib.Path("benchmarks/results/same_budget_mnist.json")
HEADER = ("| model (recipe) | what changes | seeds | test -ELBO, all {test_examples:,} | -log p(x) <=, first "
          "{examples:,} (K = {samples:,}) | paper: -log p(x) (its protocol) | pythae's reproduction (its protocol) |",
          "| --- | --- | --- | --- | --- | --- | --- |")

# recipe -> (what changes against the plain VAE, the paper's figure, pythae's), in table order;
# the published figures with the protocols their sources give (docs/objectives.md,
# posterior_flows.md, hamiltonian.md and manifold_latents.md say where each was found).
PYTHAE_IWAE_PROTOCOL = "dynamic binarization, 784-200-200-50 tanh MLP, batch 20, 3,280 epochs, K = 5,000"
MODELS = {
    "mnist_mlp_bernoulli": ("nothing: the diagonal-Gaussian VAE, ELBO",
                            "86.76 (Burda et al. 2016, Table 1: VAE, 1 stochastic layer of 50, 3,280 epochs)", ""),
    "mnist_mlp_planar": ("q(z\\|x): 10 planar layers (`normalizing_flow`)",
                         "86.5 at K = 20, 85.1 at K = 80 (Rezende and Mohamed 2015, as quoted: static binarization, "
                         "maxout 400, 40 latents, 200 importance samples); K = 10: not found",
                         "none: a config, no reproduced figure"),
    "mnist_mlp_radial": ("q(z\\|x): 10 radial layers (`normalizing_flow`)", "not found", "none"),
    "mnist_mlp_hvae": ("q(z\\|x): 4 tempered leapfrog steps on log p(x, z) (`hamiltonian`)",
                       "not found (Caterini et al. 2018)",
                       "86.21 (static binarization, 784-300-64, no tempering, up to 2,000 epochs, K = 1,000)"),
    "mnist_mlp_rhvae": ("q(z\\|x): 3 tempered generalized leapfrog steps under a learned metric, 1,000 kept centroids "
                        "(`riemannian_hamiltonian`)",
                        "not found (Chadebec et al. 2020 report interpolation, generation and clustering)",
                        "none: no RHVAE row in its reproducibility table"),
    "mnist_mlp_iwae": ("objective: IWAE, K = 16", "84.78 at K = 50 (Burda et al. 2016, Table 1, as above)",
                       "86.82 at K = 50 (Burda et al.'s binary MNIST, K = 5,000)"),
    "mnist_mlp_miwae": ("objective: MIWAE, M = 4, K = 4", "84.97 at M = K = 8 (Rainforth et al. 2018, as pythae "
                        "quotes it)", f"85.09 at M = K = 8 ({PYTHAE_IWAE_PROTOCOL})"),
    "mnist_mlp_piwae": ("objective: PIWAE, M = 4, K = 4", "84.46 at M = K = 8 (as above)",
                        "84.58 at M = K = 8 (as above)"),
    "mnist_mlp_ciwae": ("objective: CIWAE, 16 draws, ELBO weight 0.5", "84.57 (as above)",
                        "84.74, 64 draws (as above)"),
    "mnist_mlp_beta_vae_capacity": ("objective: capacity, gamma = 10, C from 0 to 25 nats over 20 epochs",
                                    "not found for MNIST (Burgess et al. 2018)", "none"),
    "mnist_mlp_svae": ("q(z\\|x) von Mises-Fisher, uniform prior on the sphere S^19", "not found (Davidson et al. 2018)",
                       "none found"),
    "mnist_mlp_power_spherical": ("q(z\\|x) power spherical, uniform prior on S^19", "not found (De Cao and Aziz 2020)",
                                  "none"),
    "mnist_mlp_poincare": ("q(z\\|x) and p(z) wrapped normals in the Poincaré ball, curvature 1",
                           "not found (Mathieu et al. 2019)", "none"),
    "mnist_mlp_gamma": ("q(z\\|x) Gamma, prior Gamma(2, 1) per latent (`gamma`)",
                        "not found (PyTorch-VAE's Gamma VAE has no figure; its README comments the row out)",
                        "none: not in pythae"),
    "mnist_mlp_joint_vae": ("JointVAE: 10 Gaussian latents and one 10-way relaxed categorical, each KL pushed to "
                            "a capacity rising to 5 nats (the discrete one capped at log 10; `joint_capacity`)",
                            "not found (Dupont 2018 shows traversals)", "none: not in pythae"),
    "mnist_mlp_info_vae": ("objective: InfoVAE, alpha = 0 (the whole KL), lambda = 1000, MMD with one IMQ scale",
                           "not found (Zhao et al. 2019; its MNIST alpha and lambda were not found either)", "none"),
    "mnist_mlp_wae_gaussian": ("objective: WAE-MMD, lambda = 200, IMQ at 7 scales; Gaussian q(z\\|x), one draw",
                               "not found (Tolstikhin et al. 2018; its FIDs are Inception-based, on CelebA)",
                               "none"),
}


def _mean(values, digits):
    values = [v for v in values if v is not None]
    spread = f" ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else ""
    return f"{statistics.mean(values):.{digits}f}{spread}"


def runs_by_recipe(root):
    """{recipe: [run records]} from the committed results file."""
    path = pathlib.Path(root) / FILE
    if not path.exists():
        raise MissingFigure(f"{FILE}: missing; `python benchmarks/same_budget.py ... --root DIR` writes "
                            "DIR/same_budget.json, to be copied there")
    found = {}
    for name, run in sorted(json.loads(path.read_text()).items()):
        found.setdefault(name.split("/")[0], []).append(run)
    return found


def table(root):
    """The block's lines: the shared protocol, then one row per model (mean ± std over seeds)."""
    runs = runs_by_recipe(root)
    shared = protocol(runs)
    lines = [f"Each run: `{shared['train']}`, then `{shared['eval']}` (both with `--data-dir`), made by "
             "`benchmarks/same_budget.py`.", "",
             HEADER[0].format(**shared), HEADER[1]]
    for recipe, (change, paper, pythae) in MODELS.items():
        if recipe not in runs:
            raise MissingFigure(f"docs/results.md [same_budget]: no run of {recipe} in {FILE}")
        done = runs[recipe]
        elbo = _mean([r["train"]["test_neg_elbo"] for r in done], 2)
        nll = _mean([r["eval"]["neg_log_likelihood"] for r in done], 2)
        stderr = max(r["eval"]["neg_log_likelihood_stderr"] for r in done)
        lines.append(f"| `{recipe}` | {change} | {len(done)} | {elbo} | {nll} (s.e. {stderr:.2f}) | {paper} | {pythae} |")
    return lines


def protocol(runs):
    """What every likelihood run shares (epochs, test images, K), read from the runs themselves,
    and the shape of their commands (the recipe's name in place of each one's); a run at another
    budget is an error, not a row."""
    runs = {recipe: done for recipe, done in runs.items() if recipe in MODELS}
    every = [run for done in runs.values() for run in done]
    shared = {}
    for name, part, key in (("epochs", "train", "epochs"), ("test_examples", "train", "test_examples"),
                            ("examples", "eval", "examples"), ("samples", "eval", "samples")):
        values = sorted({run[part][key] for run in every})
        if len(values) != 1:
            raise MissingFigure(f"{FILE}: runs at different budgets ({name}: {values})")
        shared[name] = values[0]
    for part in ("train", "eval"):
        shapes = {_command_shape(recipe, run[part]["command"]) for recipe, done in runs.items() for run in done}
        shared[part] = " / ".join(sorted(shapes))
    return shared


def _command_shape(recipe, command):
    """A run's command without its folders (they differ per run and machine), the recipe named
    RECIPE and the seed S: `zoo train RECIPE --seed S --epochs 30`, `zoo evaluate EXPORT --examples 1000 ...`."""
    words, shape = command.split(), []
    skip = False
    for index, word in enumerate(words):
        if skip:
            skip = False
        elif word in FOLDER_FLAGS:
            skip = True
        elif index and words[index - 1] == "evaluate":
            shape.append("EXPORT")
        elif index and words[index - 1] == "--seed":
            shape.append("S")
        else:
            shape.append("RECIPE" if word == recipe else word)
    return " ".join(shape)


# recipe -> (what changes against the plain VAE, the paper's sample figures), in table order:
# every same-budget run that measured its samples (docs/autoencoders.md, mmd.md, ms_ssim.md,
# adversarial.md and vq_vae.md say where each was found).
WAE_PAPER = "Inception FIDs on CelebA (Tolstikhin et al. 2018)"
GHOSH = "Inception FID, conv nets with batch norm, 100 epochs, squared error, samples of a 10-component mixture"
QUALITY_MODELS = {
    "mnist_mlp_info_vae": (MODELS["mnist_mlp_info_vae"][0], "not found (Zhao et al. 2019)"),
    "mnist_mlp_wae_gaussian": (MODELS["mnist_mlp_wae_gaussian"][0], WAE_PAPER),
    "mnist_mlp_wae": ("objective: WAE-MMD as above; deterministic encoder (`point_mass`), no likelihood",
                      WAE_PAPER),
    "mnist_mlp_aae": ("objective: AAE, a discriminator between p(z) and q(z\\|x) codes, weight 0.5",
                      "not found (Makhzani et al. 2015)"),
    "mnist_mlp_autoencoder": ("`point_mass` encoder, -log p(x\\|z) alone",
                              f"AE 10.66 (Ghosh et al.'s configuration file notes: {GHOSH})"),
    "mnist_mlp_rae_l2": ("`point_mass`, RAE: + beta \\|\\|z\\|\\|^2 / 2 + lambda \\|\\|theta\\|\\|^2",
                         "RAE-L2 8.69 (as above)"),
    "mnist_mlp_rae_gp": ("`point_mass`, RAE: + beta \\|\\|z\\|\\|^2 / 2 + lambda decoder gradient penalty",
                         "RAE-GP 11.54 (as above)"),
    "mnist_mlp_ms_ssim": ("reconstruction cost: MS-SSIM (window 3), beta = 0.01 on the KL; no likelihood",
                          "none: human preference judgments (arXiv 1511.06409); an MNIST figure not found"),
    "mnist_mlp_vae_gan": ("VAE-GAN: a discriminator of images, the reconstruction in its hidden features; MNIST in grey "
                          "levels (not binarized); no likelihood", "not found for MNIST (Larsen et al. 2016: CelebA)"),
    "mnist_mlp_swae": ("objective: SWAE, lambda = 784, 50 projections; `point_mass` encoder; no likelihood",
                       "not found for MNIST (Kolouri et al. 2019 show samples)"),
    "mnist_mlp_logcosh": ("reconstruction cost: log-cosh, alpha = 10; no likelihood", "not found (Chen et al. 2019)"),
    "mnist_conv_hrq": ("HRQ-VAE: conv (32, 64), 3 levels of 4 codes, PixelCNN prior (its own recipe)",
                       "none: the paper is on paraphrase generation (Hosking et al. 2022)"),
}
QUALITY_MODELS.update({recipe: (change, "")  # the likelihood models' samples, where measured
                       for recipe, (change, _, _) in MODELS.items() if recipe not in QUALITY_MODELS})
QUALITY_HEADER = ("| model (recipe) | what changes | epochs | seeds | reconstruction MSE per pixel, first {examples:,} "
                  "| sampler ({count:,} drawn vs {count:,} test images) | FID | KID | precision | recall | "
                  "paper's figure (its protocol) |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
TRAINING_FLOOR, RECONSTRUCTION_FLOOR = "floor: training_images", "floor: reconstructions"


def quality_table(root):
    """The [same_budget_quality] block: per model and sampler, FID / KID / precision / recall in
    the domain feature space (mean ± std over the seeds measured), then its reconstructions' floor;
    the training images' floor once; models not measured yet are named."""
    runs = runs_by_recipe(root)
    measured = {recipe: [run for run in runs.get(recipe, []) if "quality" in run] for recipe in QUALITY_MODELS}
    every = [run for done in measured.values() for run in done]
    examples = sorted({run["eval"]["examples"] for run in every})
    counts = sorted({run["quality"]["domain"]["n_real"] for run in every})
    if len(examples) != 1 or len(counts) != 1:
        raise MissingFigure(f"{FILE}: sample-quality runs with different test slices ({examples}, {counts})")
    lines = [f"Each run as above, then `{QUALITY_COMMAND}` (`benchmarks/same_budget.py --sample-quality`), "
             "in the **domain** feature space (docs/sample_quality.md). Each figure is the mean ± the standard "
             "deviation over the seeds measured (one seed: no spread).", "",
             QUALITY_HEADER[0].format(examples=examples[0], count=counts[0]), QUALITY_HEADER[1]]
    for recipe, (change, paper) in QUALITY_MODELS.items():
        if measured[recipe]:
            lines += _quality_rows(recipe, change, paper, measured[recipe])
    floor = _figures([run["quality"]["domain"][TRAINING_FLOOR] for run in every])
    lines += ["", f"The floor of the feature space: {counts[0]:,} training images against the test images, FID "
              f"{floor['fid']}, KID {floor['kid']}, precision {floor['precision']}, recall {floor['recall']} "
              f"({len(every)} runs). The papers' FIDs use Inception features on other networks and data, so they "
              "cannot be compared with these domain-feature figures (issue 28); they are quoted only to say what "
              "was found."]
    missing = [f"`{recipe}`" for recipe, done in measured.items() if not done]
    if missing:
        lines += ["", f"Not measured yet at this budget: {', '.join(missing)}."]
    return lines


QUALITY_COMMAND = "zoo evaluate EXPORT --no-likelihood --sample-quality --sample-count N --examples N --no-pictures"


def _figures(drawn):
    """{figure: "mean ± std"} of FID, KID (as `zoo evaluate` reports it), precision and recall."""
    return {"fid": _mean([d["fid"] for d in drawn], 2), "kid": _mean([d["kid"] for d in drawn], 1),
            "precision": _mean([d["precision"] for d in drawn], 3), "recall": _mean([d["recall"] for d in drawn], 3)}


def _quality_rows(recipe, change, paper, done):
    """One row per sampler of the recipe's runs, then its reconstructions' floor."""
    mse = [run["eval"].get("reconstruction_mse") for run in done]
    mse = _mean(mse, 5) if None not in mse else "none: a likelihood model (its -log p(x) or -ELBO instead)"
    epochs = sorted({run["train"]["epochs"] for run in done})
    if len(epochs) != 1:
        raise MissingFigure(f"{FILE}: {recipe}'s sample-quality runs at different budgets ({epochs})")
    samplers = sorted({name for run in done for name in run["quality"]["domain"]
                       if name != "n_real" and not name.startswith("floor: ")})
    rows, said = [], (change, epochs[0], len(done), mse, paper)
    for sampler in [*samplers, RECONSTRUCTION_FLOOR]:
        figures = _figures([run["quality"]["domain"][sampler] for run in done if sampler in run["quality"]["domain"]])
        rows.append(f"| `{recipe}` | {said[0]} | {said[1]} | {said[2]} | {said[3]} | {sampler} | {figures['fid']} | "
                    f"{figures['kid']} | {figures['precision']} | {figures['recall']} | {said[4]} |")
        said = ("", "", "", "", "")
    return rows

"""`zoo list | train | evaluate | fit-samplers`: the command line. Problems a user can fix end in one line, exit 2.

Names, flags, paths, sizes and training values are checked before TensorFlow is imported,
so a mistake is answered at once; blocks and their arguments are checked next (their
registries import TensorFlow), before any data is read. TensorFlow's C++ start-up lines are
hidden (`zoo.tensorflow_logs`, set up by `import zoo`) unless `--debug` or the user's own
TF_CPP_MIN_LOG_LEVEL.
"""

import argparse
import os
import sys

from zoo import tensorflow_logs
from zoo.errors import ConfigError, ZooError

# Flags that are `--set FIELD=VALUE` written shorter; they take the same path as --set.
SHORTHANDS = {"--epochs": "epochs", "--batch-size": "batch_size", "--latent-dim": "latent_dim", "--seed": "seed",
              "--dataset": "dataset", "--image-size": "image_size", "--channels": "channels"}
STRATEGY_NAMES = ("default", "mirrored", "multiworker", "tpu")  # zoo.training.strategies.STRATEGIES, without importing TF


def build_parser():
    parser = argparse.ArgumentParser(prog="zoo", description="A model zoo of variational autoencoders.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list the recipes and the shipped presets")
    listing.add_argument("--blocks", action="store_true", help="also every block a config can name, by role "
                                                               "(imports TensorFlow: a few seconds)")

    train = commands.add_parser("train", help="train a recipe, evaluate it and export it")
    train.add_argument("recipe", help="a recipe name from `zoo list`")
    train.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                       help="override any config field, e.g. --set beta=0.5 --set hidden_units=512,256")
    for flag, field in SHORTHANDS.items():
        train.add_argument(flag, action=SetShorthand, dest="set", metavar=field.upper(), help=f"--set {field}=VALUE")
    train.add_argument("--scale", type=float, default=1.0, metavar="F",
                       help="train F times longer (epochs, warm-up and temperature schedule); the "
                            "defaults are sized for about 30 minutes on 2 CPU cores")
    train.add_argument("--smoke", action="store_true", help="apply the recipe's tiny test sizes")
    train.add_argument("--data-dir", help="your images (a folder of image files, class subfolders as labels, "
                                          "or a .npz file), IDX files (mnist, fashion_mnist) or a TFDS data_dir")
    train.add_argument("--download", action="store_true", help="let TFDS download a missing dataset")
    train.add_argument("--export-dir", default="saved_models", help="default: saved_models/")
    train.add_argument("--workdir", help="checkpoints (resumable), history.csv and TensorBoard logs")
    train.add_argument("--force-export", action="store_true",
                       help="export even a model with NaN weights or a test -ELBO worse than the trivial "
                            "baseline (each pixel's own marginal), which are refused otherwise")
    train.add_argument("--strategy", default="default", choices=STRATEGY_NAMES,
                       help="default: one device; mirrored: this machine's GPUs; multiworker: the "
                            "machines in TF_CONFIG; tpu: the TPU at --tpu (batch_size is the global batch)")
    train.add_argument("--tpu", metavar="ADDRESS", help="with --strategy tpu: grpc://HOST:PORT, a TPU name, "
                                                        "or 'local' on a TPU VM")

    evaluate = commands.add_parser(
        "evaluate", help="test -ELBO, importance-sampled log-likelihood, active units and pictures of an export")
    evaluate.add_argument("export", help="an export's version folder, or its recipe folder (the latest version)")
    evaluate.add_argument("--data-dir", help="as for train")
    evaluate.add_argument("--download", action="store_true", help="let TFDS download a missing dataset")
    evaluate.add_argument("--samples", type=int, default=5000, help="importance samples per image (default 5000)")
    evaluate.add_argument("--examples", type=int, help="evaluate only the first N test images")
    evaluate.add_argument("--batch-size", type=int, default=50, help="images scored at once (default 50)")
    evaluate.add_argument("--output-dir", help="where metrics.json and pictures/ go (default: the export)")
    evaluate.add_argument("--no-pictures", action="store_true", help="skip the PNG pictures")
    evaluate.add_argument("--gaps", type=int, metavar="N", help="also the approximation and amortization gaps of "
                          "the first N test images (docs/inference_gaps.md)")
    evaluate.add_argument("--gap-flow", action="store_true", help="with --gaps: also a per-image flow posterior")
    evaluate.add_argument("--no-likelihood", action="store_true",
                          help="score no test image (no -ELBO or log p(x)): only --sample-quality or --gaps")
    evaluate.add_argument("--sample-quality", action="store_true",
                          help="FID, KID and precision/recall of samples against the test images (docs/sample_quality.md)")
    evaluate.add_argument("--sample-count", type=int, default=10000, metavar="N", help="samples drawn (default 10000)")
    evaluate.add_argument("--feature-space", choices=("domain", "inception"), default="domain",
                          help="domain: the dataset's shipped classifier (default); inception: InceptionV3")
    evaluate.add_argument("--inception-weights", metavar="FILE",
                          help="InceptionV3's no-top ImageNet weights (.h5), for machines that are offline")

    fit_samplers = commands.add_parser(
        "fit-samplers", help="fit post-hoc samplers to an export's encoded training set; export the next version")
    fit_samplers.add_argument("export", help="an export's version folder, its model folder, or a preset name")
    fit_samplers.add_argument("--samplers", required=True, metavar="KINDS",
                              help="comma-separated: gaussian_mixture, two_stage, flow")
    fit_samplers.add_argument("--data-dir", help="as for train: the data it was trained on")
    fit_samplers.add_argument("--download", action="store_true", help="let TFDS download a missing dataset")
    fit_samplers.add_argument("--export-dir", help="default: the folder holding the export's model folder")
    return parser


class SetShorthand(argparse.Action):
    """`--epochs 3` is `--set epochs=3`: appended to the same list, in command-line order."""

    def __call__(self, parser, namespace, value, option_string=None):
        namespace.set = [*namespace.set, f"{SHORTHANDS[option_string]}={value}"]


def checked_before_tensorflow(args):
    """(recipe, {field: text}) after the checks that need no TensorFlow: the recipe name,
    `--set` syntax and renamed fields, training values (--image-size, --epochs, ...), paths."""
    from recipes import RECIPES
    from zoo.checks import check_number
    from zoo.config.overrides import parse_assignments, train_with

    recipe = RECIPES.get(args.recipe)
    overrides = parse_assignments(args.set)
    train_with(train_with(recipe.train, recipe.smoke if args.smoke else {}), overrides)
    check_number("--scale", args.scale, positive=True)
    check_paths(data_dir=args.data_dir, export_dir=args.export_dir, workdir=args.workdir)
    return recipe, overrides


def check_paths(data_dir=None, export_dir=None, workdir=None, output_dir=None):
    """--data-dir must exist; folders the zoo writes to must be writable folders, or creatable."""
    from zoo.training.destinations import check_destinations

    if data_dir is not None and not os.path.exists(data_dir):
        raise ConfigError("--data-dir", data_dir, "an existing folder or file (no such folder or file)")
    check_destinations(export_dir=export_dir, workdir=workdir, output_dir=output_dir)


def run(args, argv):
    if args.command == "list":
        import recipes
        from zoo.models.presets import presets  # reads folders and config.json files: no TensorFlow

        tables = [("Recipes (zoo train NAME)", recipes.descriptions()),
                  ("Presets (zoo.VAE.from_preset(NAME), trained)", presets())]
        if args.blocks:
            from zoo.config.blocks import block_summaries

            tables += [(f"Blocks: {role} (--set {role}=NAME)", names) for role, names in block_summaries().items()]
        for title, table in tables:
            print(title)
            width = max(map(len, table), default=0)
            for name, description in table.items():
                print(f"  {name:<{width}}  {description}")
        return 0
    command = " ".join(["zoo", *argv])
    if args.command == "evaluate":
        from zoo.models.presets import preset_path

        preset_path(args.export)  # an export folder or a shipped preset's name
        check_paths(data_dir=args.data_dir, output_dir=args.output_dir)
        from zoo.evaluation.evaluate import evaluate

        evaluate(args.export, data_dir=args.data_dir, num_samples=args.samples, examples=args.examples,
                 batch_size=args.batch_size, output_dir=args.output_dir, pictures=not args.no_pictures,
                 download=args.download, command=command, gaps=args.gaps, gap_flow=args.gap_flow,
                 likelihood=not args.no_likelihood,
                 sample_quality=dict(samples=args.sample_count, space=args.feature_space,
                                     inception_weights=args.inception_weights) if args.sample_quality else None)
        return 0
    if args.command == "fit-samplers":
        from zoo.models.presets import preset_path

        preset_path(args.export)
        check_paths(data_dir=args.data_dir, export_dir=args.export_dir)
        from zoo.training.fit_samplers import fit_samplers

        fit_samplers(args.export, args.samplers, data_dir=args.data_dir, export_dir=args.export_dir,
                     download=args.download, command=command)
        return 0
    recipe, overrides = checked_before_tensorflow(args)
    from zoo.training import strategies

    # First of all: the multiworker strategy must be made before TensorFlow runs anything.
    strategy = strategies.build(args.strategy, tpu=args.tpu)
    if args.smoke:
        recipe = recipe.with_overrides(recipe.smoke)
    if args.scale != 1.0:
        recipe = recipe.scaled(args.scale)
    recipe = recipe.with_overrides(overrides)  # blocks and their arguments checked, before any data is read
    from zoo.training.train import train

    train(recipe, data_dir=args.data_dir, export_dir=args.export_dir, workdir=args.workdir,
          download=args.download, command=command, strategy=strategy, force_export=args.force_export)
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    if args.debug:
        tensorflow_logs.show()
    try:
        return run(args, argv)
    except (ZooError, FloatingPointError) as error:
        if args.debug:
            raise
        print(f"zoo: error: {error}", file=sys.stderr)
        return 2 if isinstance(error, ZooError) else 1
    except KeyboardInterrupt:  # Ctrl-C: one line, not a traceback from wherever it landed
        if args.debug:
            raise
        resume = (" (the same command resumes from the workdir's last backup)"
                  if getattr(args, "workdir", None) else "")
        print(f"zoo: interrupted{resume}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

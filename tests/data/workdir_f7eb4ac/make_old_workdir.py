"""Run digits_mlp_bernoulli (smoke sizes, 4 epochs) with the zoo of f7eb4ac and stop it after
its second epoch, as a kill would: the workdir keeps the backup of epoch 2 and recipe.json."""
import sys
import tf_keras as keras
from zoo.training import train as train_module
from recipes.digits_mlp_bernoulli import RECIPE

class Stop(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt

original = train_module.CompactProgress
train_module.CompactProgress = lambda epochs: Stop()
recipe = RECIPE.with_overrides(RECIPE.smoke).with_overrides({"epochs": 4})
try:
    train_module.train(recipe, export_dir=sys.argv[2], workdir=sys.argv[1])
except KeyboardInterrupt:
    print("stopped after epoch 2")

"""Training: `train(recipe)`, its callbacks and epoch schedules, the compiled multi-step loop,
tf.distribute strategies and resumable workdirs."""

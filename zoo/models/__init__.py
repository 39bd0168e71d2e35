"""Models: the `VAE` (a keras.Model composed of blocks), the config builder and the presets."""

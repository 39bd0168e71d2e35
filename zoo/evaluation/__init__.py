"""Evaluation: importance-sampled log-likelihood, `zoo evaluate`'s metrics, and pictures."""

"""The doctor and the environment check: facts in, predictions and check lines out."""

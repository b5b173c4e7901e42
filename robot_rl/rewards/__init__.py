"""Rewards from pixels: success classifiers, VLM backends, preference reward models, evaluation."""

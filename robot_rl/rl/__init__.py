"""Offline training, checkpoints, evaluation."""

"""Diffusion chunk policies and their observation encoders."""

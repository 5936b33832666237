"""Deterministic demo district (synthetic, modelled on the figures of seed 003)."""

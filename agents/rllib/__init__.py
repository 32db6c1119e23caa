"""Thin RLlib (new API stack) layer over the pure-torch models: RLModules and algorithm building."""

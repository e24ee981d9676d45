"""Declarative dataset specs (TOML), read by ``pipeline.datasets``; a package so installs carry them."""

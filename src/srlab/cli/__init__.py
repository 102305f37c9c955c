"""Entry points driven by Hydra configs (the only package that knows Hydra)."""

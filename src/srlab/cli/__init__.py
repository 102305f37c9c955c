"""What the entry points run; the only package that knows Hydra."""

from srlab.cli import tracking  # noqa: F401  (registers the ${srlab.run_name:} resolvers of conf/logger)

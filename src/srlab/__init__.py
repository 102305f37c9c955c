"""srlab: single-image super-resolution with PyTorch Lightning and Hydra."""

import os

# albumentations checks PyPI for a newer release at import; keep runs offline and quiet.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

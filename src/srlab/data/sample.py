"""The default data set: colour photos that scikit-image ships, usable offline.

Written once as PNG files into `root/train` and `root/val` with a fixed split.
"""

from pathlib import Path

import numpy as np
from PIL import Image

TRAIN = ("astronaut", "hubble_deep_field", "immunohistochemistry", "retina", "stereo_motorcycle")
VAL = ("chelsea", "coffee", "rocket")


def _photo(name: str) -> np.ndarray:
    from skimage import data

    img = getattr(data, name)()
    return img[0] if name == "stereo_motorcycle" else img  # (left, right, disparity): the left view


class SamplePhotos:
    """Prepare the scikit-image sample photos under `root` (a no-op when already there)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def __call__(self, folders: object = None) -> None:  # writes both splits, whichever a stage reads
        for split, names in (("train", TRAIN), ("val", VAL)):
            folder = self.root / split
            folder.mkdir(parents=True, exist_ok=True)
            for name in names:
                path = folder / f"{name}.png"
                if not path.exists():
                    tmp = path.with_suffix(".tmp.png")
                    Image.fromarray(_photo(name)).save(tmp)
                    tmp.replace(path)

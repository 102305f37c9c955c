"""Fetch data sets of the catalog ahead of time, and convert the large ones to the `.npy` layout.

    python -m srlab.data.prepare div2k benchmark             # download if needed, convert DIV2K
    python -m srlab.data.prepare df2k --tile 480 --step 240  # DIV2K + Flickr2K, as tiles

An error (offline, a checksum that does not match, an unsafe or incomplete archive) is one message and
exit status 1; `--debug` shows its traceback.
"""

import argparse
from pathlib import Path

from srlab.data.catalog import DATA_SETS, DataSets


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m srlab.data.prepare",
        description="Download data sets of the catalog when missing, and convert them to the fast .npy layout.",
        epilog="data sets:\n" + "\n".join(f"  {name:16} {data_set.title}" for name, data_set in DATA_SETS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("names", nargs="+", choices=DATA_SETS, metavar="NAME", help="data sets (below)")
    parser.add_argument("--root", type=Path, default=Path("data"), help="the data folder (default: ./data)")
    parser.add_argument(
        "--npy",
        action=argparse.BooleanOptionalAction,
        help="convert to .npy (default: the 2K sets div2k, flickr2k, df2k)",
    )
    parser.add_argument("--tile", type=int, help="cut the converted images into tiles of this many pixels")
    parser.add_argument("--step", type=int, help="pixels between tiles (default: half a tile)")
    parser.add_argument("--workers", type=int, help="conversion threads (default: one per core)")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    args = parser.parse_args(argv)
    npy = None if args.npy is None else args.names if args.npy else []
    sets = DataSets(args.root, args.names, npy=npy, tile=args.tile, step=args.step, workers=args.workers)
    try:
        sets()
    except (OSError, ValueError) as err:  # offline, a bad checksum or archive, an incomplete set, a bad image
        if args.debug:
            raise
        parser.exit(1, f"error: {err}\n")
    print("Ready:", *sets.folders(), sep="\n  ")


if __name__ == "__main__":
    main()

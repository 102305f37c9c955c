"""Process settings of eval.py and upscale.py (`srlab.cli.runtime`)."""

import sys

import pytest
import torch

from srlab.cli.runtime import keep_freed_memory, set_threads


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_glibc_accepts_the_memory_settings() -> None:
    assert keep_freed_memory()


def test_threads_set_and_checked() -> None:
    old = torch.get_num_threads()
    try:
        set_threads(1)
        assert torch.get_num_threads() == 1
        set_threads(None)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(old)
    for bad in (0, -2, "two", True):
        with pytest.raises(ValueError, match=f"threads={bad}"):
            set_threads(bad)

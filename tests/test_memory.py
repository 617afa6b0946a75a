"""hecon.memory: freed blocks are kept for reuse instead of being faulted in again."""

import subprocess
import sys

import pytest

resource = pytest.importorskip("resource")

CHILD = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from hecon.memory import keep_freed_memory
    if not keep_freed_memory():
        print(-1); raise SystemExit
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):  # a PSA chunk's pattern: many MiB-sized arrays, then all freed
    arrays = [np.ones(2**18 + 2**16 * k) for k in range(16)]
    del arrays
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", CHILD, mode], check=True, capture_output=True,
                         text=True).stdout
    return int(out.split()[-1])


def test_keeping_freed_memory_avoids_page_faults():
    kept = faults("keep")
    if kept < 0:
        pytest.skip("the C library has no mallopt (not glibc)")
    default = faults("default")
    # 20 rounds of ~48 MiB: by default most rounds fault their pages in again
    assert default > 5 * kept, (default, kept)

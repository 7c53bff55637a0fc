"""Tensors between processes: shared memory vs a pickled copy, side by side in one run.

    .venv/bin/python -m benchmarks.tensors [--quick]

Prints ms per result for 1 MB and 64 MB results (a fresh tensor through a torch queue, a tensor
already in shared memory, the same bytes pickled through a plain multiprocessing queue), the
ratios, and the bytes that crossed the queue per result (see mpscope.core.engine.tensor_bench).
"""

from __future__ import annotations

import sys

from mpscope.core.engine.tensor_bench import measure_all, table

MB = 1 << 20


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    sizes = (MB, 8 * MB) if quick else (MB, 64 * MB)
    counts = {MB: 20, 8 * MB: 4, 64 * MB: 5}
    for line in table(measure_all(sizes, counts)):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

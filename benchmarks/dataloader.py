"""The observed DataLoader vs the same DataLoader iterated bare, side by side in one run.

    python -m benchmarks.dataloader            # 5 rounds each, alternating
    python -m benchmarks.dataloader --quick    # 2 rounds each

Both iterate ``torch.utils.data.DataLoader`` over the built-in dataset (1 ms per sample,
2 workers, fork, batch_size 8, no training step); the observed one goes through
:func:`mpscope.core.dataloader.run.run_loader` (wrapped dataset and collate_fn, worker_init_fn,
``next()`` timed, every event folded into the state). Prints samples per second (median of the
rounds) and the ratio observed / bare.
"""

from __future__ import annotations

import argparse
import statistics
import time


def _bare(samples: int) -> float:
    from torch.utils.data import DataLoader

    from mpscope.core.dataloader.dataset import SeededRange

    loader = DataLoader(
        SeededRange(samples, load_time=0.001),
        batch_size=8,
        num_workers=2,
        prefetch_factor=2,
        multiprocessing_context="fork",
    )
    started = time.perf_counter()
    for _batch in loader:
        pass
    elapsed = time.perf_counter() - started
    del loader
    return samples / elapsed


def _observed(samples: int) -> float:
    from mpscope.core.dataloader.run import LoaderSettings, run_loader
    from mpscope.core.dataloader.state import LoaderState

    state = LoaderState()
    settings = LoaderSettings(
        samples=samples, batch_size=8, num_workers=2, load_time=0.001, train_time=0.0
    )
    started = time.perf_counter()
    run_loader(settings, state.apply)
    elapsed = time.perf_counter() - started
    assert len(state.steps) == -(-samples // 8), "every batch reached the loop"
    return samples / elapsed


def main() -> None:
    """Alternate the two, print the medians and the ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()
    from mpscope.core.engine.lifecycle import import_torch_quietly

    import_torch_quietly()
    rounds = 2 if args.quick else 5
    bare: list[float] = []
    observed: list[float] = []
    for _ in range(rounds):
        bare.append(_bare(args.samples))
        observed.append(_observed(args.samples))
    b, o = statistics.median(bare), statistics.median(observed)
    print(f"DataLoader, {args.samples} samples of 1 ms, 2 workers, batch_size 8, {rounds} rounds")
    print(f"  bare      {b:8.0f} samples/s   rounds: {', '.join(f'{x:.0f}' for x in bare)}")
    print(f"  observed  {o:8.0f} samples/s   rounds: {', '.join(f'{x:.0f}' for x in observed)}")
    print(f"  ratio observed/bare: {o / b:.3f}")


if __name__ == "__main__":
    main()

"""``mpscope run --mode dataloader``: the command line of a real DataLoader run.

Its options are the DataLoader's own (``--batch-size``, ``--num-workers``,
``--prefetch-factor``, ``--persistent-workers``, ``--in-order``, ``--pin-memory``), the built-in
dataset's and the training loop's. Bad input: one line, exit 2, before any process starts.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import NoReturn

from mpscope.core.loading import SpecError

MODE_WORDS = ("dataloader", "4")


class LoaderUsageError(Exception):
    """Bad input for the DataLoader mode; one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise LoaderUsageError(message)


def wants_loader(argv: Sequence[str]) -> bool:
    """True if ``argv`` (after ``run``) asks for ``--mode dataloader``."""
    from mpscope.tui.cli_support import asks_for_mode

    return asks_for_mode(argv, MODE_WORDS)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mpscope run --mode dataloader", description=__doc__)
    add = p.add_argument
    add("--mode", "-m", default="dataloader")
    add("--samples", "-n", type=int, default=64, help="samples in the built-in dataset (64)")
    add("--batch-size", type=int, default=4, help="DataLoader batch_size (4)")
    add("--num-workers", "-w", type=int, default=2, help="DataLoader num_workers (2)")
    add("--prefetch-factor", type=int, default=2, help="batches per worker in flight (2)")
    add("--persistent-workers", action="store_true", help="keep workers between epochs")
    add(
        "--in-order",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="deliver batches in sampler order (torch >= 2.6; --no-in-order: as they come)",
    )
    add("--pin-memory", action="store_true", help="pin batches (off on CPU: nothing to pin to)")
    add("--train-time", type=float, default=0.02, help="seconds per training step (0.02)")
    add("--load-time", type=float, default=0.005, help="seconds per sample (0.005)")
    add("--jitter", type=float, default=0.0, help="seeded random share added to load time")
    add("--seed", type=int, default=0, help="seed for --jitter")
    add("--slow-every", type=int, default=0, help="every K-th sample is slow (0: none)")
    add("--slow-time", type=float, default=0.2, help="seconds a slow sample takes (0.2)")
    add("--epochs", type=int, default=1, help="epochs (1)")
    add("--start-method", "-s", default="fork", help="fork | forkserver | spawn (fork)")
    add("--dataset", default="", help="your own: path/to/file.py:factory returning a Dataset")
    add("--record", metavar="FILE", help="write the run's events to FILE (JSON lines)")
    add("--plain", action="store_true", help="print the run's summary and Gantt")
    return p


def _settings(args: argparse.Namespace) -> object:
    from mpscope.core.dataloader.run import START_METHODS, LoaderSettings, has_in_order

    checks = [
        ("--samples", args.samples, 1, 100_000),
        ("--batch-size", args.batch_size, 1, 10_000),
        ("--num-workers", args.num_workers, 0, 64),
        ("--prefetch-factor", args.prefetch_factor, 1, 1_000),
        ("--epochs", args.epochs, 1, 100),
        ("--slow-every", args.slow_every, 0, 100_000),
    ]
    for name, value, low, high in checks:
        if not low <= value <= high:
            raise LoaderUsageError(f"{name} must be {low}..{high}, got {value}")
    for name, seconds in (
        ("--train-time", args.train_time),
        ("--load-time", args.load_time),
        ("--slow-time", args.slow_time),
    ):
        if not 0 <= seconds <= 60:
            raise LoaderUsageError(f"{name} must be 0..60 seconds, got {seconds:g}")
    if not 0 <= args.jitter <= 1:
        raise LoaderUsageError(f"--jitter must be 0..1, got {args.jitter:g}")
    if args.start_method not in START_METHODS:
        raise LoaderUsageError(f"--start-method must be one of {', '.join(START_METHODS)}")
    if not args.in_order and not has_in_order():
        raise LoaderUsageError("--no-in-order needs torch 2.6 or later (DataLoader in_order)")
    if args.persistent_workers and args.num_workers == 0:
        raise LoaderUsageError("--persistent-workers needs --num-workers 1 or more")
    if args.dataset:
        from mpscope.core.dataloader.user_dataset import load_user_dataset

        load_user_dataset(args.dataset)  # fails here, in one line, before the run
    return LoaderSettings(
        samples=args.samples,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        prefetch_factor=args.prefetch_factor,
        persistent_workers=args.persistent_workers,
        in_order=args.in_order,
        pin_memory=args.pin_memory,
        train_time=args.train_time,
        load_time=args.load_time,
        jitter=args.jitter,
        seed=args.seed,
        slow_every=args.slow_every,
        slow_time=args.slow_time,
        epochs=args.epochs,
        start_method=args.start_method,
        dataset=args.dataset,
    )


def _check_writable(path: str) -> None:
    """A recording that cannot be written is a mistake said before the run, not after it."""
    from pathlib import Path

    target = Path(path)
    if target.is_dir():
        raise LoaderUsageError(f"--record {path}: is a folder")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise LoaderUsageError(f"--record {path}: no folder {folder}")


def run_loader_command(argv: Sequence[str]) -> int:
    """Parse, check and run; exit code (2 on bad input, with one line on stderr)."""
    import sys

    from mpscope.core.engine.lifecycle import import_torch_quietly

    import_torch_quietly()
    from mpscope.core.dataloader.report import run_plain_loader
    from mpscope.core.dataloader.run import LoaderSettings

    try:
        args = _parser().parse_args(list(argv))
        settings = _settings(args)
        assert isinstance(settings, LoaderSettings)
        if args.record:
            _check_writable(args.record)
    except (LoaderUsageError, SpecError) as exc:
        print(f"mpscope: error: {exc}", file=sys.stderr)
        return 2
    if not args.plain:
        from mpscope.tui.loader_app import run_loader_app

        return run_loader_app(settings, record=args.record)
    return run_plain_loader(settings, args.record)

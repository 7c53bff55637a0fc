"""The rank script torchrun starts: a small data-parallel training loop on gloo.

Each rank builds the same model (the parameters are broadcast from rank 0, as DDP does), draws
its own synthetic batch, runs forward and backward, all-reduces the gradients (one flat bucket,
averaged over the world) and steps its optimizer; after every step it reports the step's spans
and the parameters' checksum through :mod:`.report`. ``--compute-time`` pads each step's
compute like a bigger model would, ``--slow-rank`` adds ``--slow-time`` to one rank (the
straggler every other rank then waits for inside the all-reduce); ``--crash-rank`` raises and
``--kill-rank`` SIGKILLs itself at ``--fault-step``, to show how torchrun reports each.

Run as ``python -m torch.distributed.run --standalone --nproc-per-node N -m
mpscope.core.distributed.train [options]``; ``@record`` lets torchrun's failure summary carry a
failed rank's traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mpscope.core.distributed.train")
    add = p.add_argument
    add("--steps", type=int, default=10)
    add("--batch", type=int, default=32)
    add("--features", type=int, default=32)
    add("--hidden", type=int, default=64)
    add("--compute-time", type=float, default=0.0)
    add("--slow-rank", type=int, default=-1)
    add("--slow-time", type=float, default=0.0)
    add("--crash-rank", type=int, default=-1)
    add("--kill-rank", type=int, default=-1)
    add("--fault-step", type=int, default=1)
    add("--seed", type=int, default=0)
    return p


def _fault(args: argparse.Namespace, rank: int, step: int) -> None:
    if step != args.fault_step:
        return
    if rank == args.crash_rank:
        raise RuntimeError(f"rank {rank} crashed on purpose at step {step} (--crash-rank)")
    if rank == args.kill_rank:
        os.kill(os.getpid(), signal.SIGKILL)


def train(args: argparse.Namespace) -> None:
    """The loop of one rank (torchrun's environment gives rank and world)."""
    import torch
    import torch.distributed as dist

    from mpscope.core.distributed.report import Reporter

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    reporter = Reporter.from_env()
    torch.manual_seed(args.seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(args.features, args.hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(args.hidden, 1),
    )
    params: list[Any] = list(model.parameters())
    for param in params:
        dist.broadcast(param.data, src=0)
    optimizer = torch.optim.SGD(params, lr=0.05)
    data = torch.Generator().manual_seed(args.seed * 1000 + rank)
    pad = args.compute_time + (args.slow_time if rank == args.slow_rank else 0.0)
    for step in range(args.steps):
        with reporter.step(step):
            with reporter.phase("forward+backward"):
                x = torch.randn(args.batch, args.features, generator=data)
                target = x.sum(dim=1, keepdim=True) * 0.1
                loss: Any = torch.nn.functional.mse_loss(model(x), target)
                optimizer.zero_grad()
                loss.backward()
                if pad > 0:
                    time.sleep(pad)
                _fault(args, rank, step)
            with reporter.collective("all_reduce"):
                flat = torch.cat([p.grad.reshape(-1) for p in params])
                dist.all_reduce(flat)
                flat /= world
            offset = 0
            for param in params:
                count = param.numel()
                param.grad.copy_(flat[offset : offset + count].view_as(param))
                offset += count
            optimizer.step()
            reporter.checksum(model)
    reporter.close()
    # every rank is past its last all-reduce before any closes its connections: a rank that
    # tears down while another still reads from it can make gloo abort that one
    dist.barrier()
    dist.destroy_process_group()


#: how long a rank that raised stays before it ends (see :func:`main`)
ROOT_CAUSE_LEAD_S = 1.2


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of each rank."""
    from torch.distributed.elastic.multiprocessing.errors import record

    # a rank ends here, before the interpreter's teardown, where torch's C++ destructors now
    # and then find a thread still joinable and abort the process ("terminate called without
    # an active exception", SIGABRT): that failed finished runs, and turned a rank that raised
    # (exit code 1, its traceback the root cause) into one killed by a signal
    try:
        record(train)(_parser().parse_args(argv))  # (it writes torchrun's error file)
    except Exception:
        traceback.print_exc()
        # torchrun names as the root cause the failure it saw first, to the second; the other
        # ranks fail only once this one's connections close, which an exit now would do within
        # the same second (and rank 0 would be named): this rank stays a little first
        time.sleep(ROOT_CAUSE_LEAD_S)
        _end(1)
    _end(0)


def _end(code: int) -> NoReturn:
    """End the rank with ``code`` now, its output flushed, skipping the teardown."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()

"""A distributed run over several machines (``--nnodes``): what the first node tells the
others, and the checks made before torchrun starts, so that a mistake is one line at once
rather than a minute of torchrun retrying."""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence

from mpscope.core.distributed.report import parse_address


class NodesError(ValueError):
    """A multi-node setting that cannot work; one line."""


def free_port(host: str, port: int) -> int:
    """``port`` on ``host`` if it can be listened on (0: a free one, chosen now); raises
    :class:`OSError` otherwise. The viewer binds it again right after: another program could
    take it in between, but none here does."""
    with socket.create_server((host, port)) as probe:
        chosen: int = probe.getsockname()[1]
        return chosen


def endpoint_free(endpoint: str) -> None:
    """Check the rendezvous endpoint (``host:port``): :class:`NodesError` if its port is in use
    on this machine by something else (torchrun would then wait on it for a minute). A host
    that is not this machine's is not checked: another node hosts the rendezvous."""
    host, port = parse_address(endpoint)
    try:
        free_port(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise NodesError(
                f"--rdzv-endpoint {endpoint}: port {port} is in use on this machine"
            ) from None


def other_nodes_command(argv: Sequence[str], address: str, token: str) -> str:
    """What every other node runs: the same options, reporting to this node's viewer."""
    keep, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in ("--host", "--port", "--record", "--token", "--report-to"):
            skip = "=" not in arg
            continue
        if name != "--plain":
            keep.append(arg)
    return " ".join(["mpscope run", *keep, "--report-to", address, "--token", token])

"""torch.distributed ranks as lanes: a data-parallel loop on gloo launched by torchrun, the
ranks' reports over a local socket, and the state folded from them (no Textual here)."""

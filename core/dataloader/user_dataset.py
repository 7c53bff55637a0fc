"""``--dataset path.py:factory``: the user's own Dataset, checked before the run starts."""

from __future__ import annotations

from typing import Any

from mpscope.core.loading import SpecError, exception_line, load_callable


def load_user_dataset(spec: str) -> Any:
    """Call the factory; raise :class:`SpecError` (one line) if it fails or returns no dataset."""
    from torch.utils.data import Dataset, IterableDataset

    factory = load_callable(spec)
    try:
        dataset = factory()
    except BaseException as exc:  # user code: any failure is one line before the run
        raise SpecError(f"--dataset {spec}: the factory raised {exception_line(exc)}") from None
    if isinstance(dataset, IterableDataset):
        return dataset
    if not isinstance(dataset, Dataset) and not (
        hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")
    ):
        raise SpecError(
            f"--dataset {spec}: the factory returned {type(dataset).__name__}, not a Dataset "
            "(map-style: __getitem__ and __len__; or an IterableDataset)"
        )
    return dataset

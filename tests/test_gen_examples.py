"""The seed's examples registry: names, seed outputs, verbatim code, the lazy sample file."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from mpscope.core.stepper import examples as gen_examples
from mpscope.core.stepper import seed_generators
from mpscope.core.stepper.examples import EXAMPLES, example_named, sample_file

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_ead37b8bfce0a06e.txt"


def test_the_five_examples_in_the_seeds_order() -> None:
    assert [e.name for e in EXAMPLES] == [
        "squares_gen",
        "genexpr",
        "read_large_file",
        "batch_generator",
        "running_average",
    ]
    assert example_named("running_average") is EXAMPLES[-1]
    assert example_named("nope") is None


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_each_example_reproduces_its_expected_output(example: gen_examples.Example) -> None:
    generator = example.factory()()
    if example.send_values:
        next(generator)
        got = [generator.send(value) for value in example.send_values]
    else:
        got = list(generator)
    assert got == list(example.expected)


def test_seed_outputs_match_expected_values() -> None:
    batches = example_named("batch_generator")
    assert batches is not None
    assert [line.split(": ", 1)[1] for line in batches.seed_output] == [
        str(batch) for batch in batches.expected
    ]
    average = example_named("running_average")
    assert average is not None
    assert [line.split(": ")[1] for line in average.seed_output] == ["10.0", "15.0", "20.0"]
    assert average.send_values == (10, 20, 30)


def test_each_factory_call_makes_a_fresh_generator() -> None:
    for example in EXAMPLES:
        factory = example.factory()
        first, second = factory(), factory()
        assert first is not second
        assert inspect.getgeneratorstate(first) == inspect.GEN_CREATED


def test_example_functions_take_user_arguments() -> None:
    squares = example_named("squares_gen")
    batches = example_named("batch_generator")
    assert squares is not None and batches is not None
    assert list(squares.factory((3,))()) == [0, 1, 4]
    assert list(batches.factory(([1, 2, 3],), {"batch_size": 2})()) == [[1, 2], [3]]
    genexpr = example_named("genexpr")
    assert genexpr is not None
    with pytest.raises(TypeError, match="takes no arguments"):
        genexpr.factory((1,))


def test_sample_file_is_written_lazily_once_with_padded_lines() -> None:
    path = sample_file()
    assert path.is_file()
    assert path.parent.name.startswith("mpscope-gen-")
    assert sample_file() == path
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines == list(gen_examples.SAMPLE_LINES)
    assert any(line != line.strip() for line in lines)  # strip() has work to do


def test_sample_file_is_rewritten_if_deleted() -> None:
    path = sample_file()
    path.unlink()
    again = sample_file()
    assert again.is_file()


#: The seed's own code for each example, as the seed prints it (checked against the seed
#: itself where it lies beside the repository, so a clone without it still checks the code)
SEED_CODE = {
    "squares_list": """\
def squares_list(n):
    return [i**2 for i in range(n)]
""",
    "squares_gen": """\
def squares_gen(n):
    for i in range(n):
        yield i**2
""",
    "read_large_file": '''\
def read_large_file(filepath):
    """逐行读取大文件（避免一次性加载）"""
    with open(filepath) as f:
        for line in f:
            yield line.strip()
''',
    "batch_generator": '''\
def batch_generator(iterable, batch_size):
    """将数据流分批（类似 DataLoader）"""
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:  # 处理最后不满一批的数据
        yield batch
''',
    "running_average": '''\
def running_average():
    """生成器计算滑动平均（接收外部输入）"""
    total = 0
    count = 0
    avg = None
    while True:
        value = yield avg  # 返回当前平均值，接收新值
        total += value
        count += 1
        avg = total / count
''',
}


@pytest.mark.parametrize(
    "function",
    [
        seed_generators.squares_list,
        seed_generators.squares_gen,
        seed_generators.read_large_file,
        seed_generators.batch_generator,
        seed_generators.running_average,
    ],
    ids=lambda f: f.__name__,
)
def test_seed_code_is_verbatim(function: object) -> None:
    source = inspect.getsource(function)  # type: ignore[arg-type]
    assert source == SEED_CODE[function.__name__]  # type: ignore[attr-defined]
    if SEED.is_file():  # beside the repository (the project's own machines): the seed itself
        assert source in SEED.read_text(encoding="utf-8")

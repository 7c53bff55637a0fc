"""The seed's generator code, verbatim: what the stepper shows and steps.

These functions are copied from the seed tutorial (sections 1, 3 and 4) with their Chinese
docstrings and comments, so that a learner sees in the stepper exactly what they read. They are
deliberately left without type annotations, as in the seed; typed names for them live in
:mod:`mpscope.core.stepper.examples`.

Translations: 列表：一次性生成所有数据 — list: builds all the data at once, using memory;
生成器：按需生成 — generator: produces on demand, O(1) memory; 逐行读取大文件 — read a large
file line by line; 将数据流分批（类似 DataLoader）— split a data stream into batches (like a
DataLoader); 处理最后不满一批的数据 — handle the last, incomplete batch; 生成器计算滑动平均 —
a generator computing a running average (receives input from outside); 返回当前平均值，接收新值
— yield the current average, receive a new value.
"""
# mypy: ignore-errors


# 列表：一次性生成所有数据，占用内存
def squares_list(n):
    return [i**2 for i in range(n)]


# 生成器：按需生成，内存占用 O(1)
def squares_gen(n):
    for i in range(n):
        yield i**2


def read_large_file(filepath):
    """逐行读取大文件（避免一次性加载）"""
    with open(filepath) as f:
        for line in f:
            yield line.strip()


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


def squares_genexpr():
    """The seed's generator expression (section 2), evaluated afresh on each call."""
    return (x**2 for x in range(5))


def data_stream():
    """The seed's 25-item stream for ``batch_generator`` (section 3)."""
    return (x for x in range(25))  # 模拟 25 条数据

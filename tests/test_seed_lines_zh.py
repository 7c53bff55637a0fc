"""``--lang zh``: the pipeline's own output reads as the seed's does — Task 1's workers print
``[Worker 0] PID=… | 计数=1`` and Task 3's collector ``收到第 1/N 个结果`` — and English runs
print as before; a lesson's runs print in the lesson's language."""

from __future__ import annotations

import re

import pytest

from mpscope.core.pipeline.events import PrintedLine
from mpscope.core.pipeline.scenario import Scenario, ScenarioError, make_scenario
from tests.support import assert_balanced, of_kind, run_engine, scenario

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize(("lang", "word"), [("zh", "计数"), ("en", "count")])
def test_task1_prints_the_seeds_count_line_in_its_language(lang: str, word: str) -> None:
    sc = scenario(mode="print", workers=2, print_count=2, print_delay=0.01, lang=lang)
    events, state = run_engine(sc, timeout=90)
    lines = [e.text for e in of_kind(events, PrintedLine)]
    assert len(lines) == 4 and state.outcome == "completed"
    assert all(re.fullmatch(rf"\[Worker \d\] PID=\d+ \| {word}=[12]", line) for line in lines)


def test_task3s_collector_counts_what_it_received_in_chinese() -> None:
    sc = scenario(mode="pipeline", workers=2, count=4, work_time=0, collect_time=0, lang="zh")
    events, state = run_engine(sc, timeout=90)
    assert_balanced(state)
    said = [e.text for e in of_kind(events, PrintedLine) if "收集Worker" in e.text]
    assert [re.search(r"收到第 (\d)/4 个结果", line)[1] for line in said] == ["1", "2", "3", "4"]  # type: ignore[index]
    english = scenario(mode="pipeline", workers=2, count=4, work_time=0, collect_time=0)
    events, _state = run_engine(english, timeout=90)
    assert of_kind(events, PrintedLine) == []  # in English the collector prints nothing


def test_the_language_is_a_scenario_setting_checked_like_the_others() -> None:
    sc, _notes = make_scenario(lang="zh")
    assert Scenario.from_json(sc.to_json()).lang == "zh"
    assert Scenario().lang == "en"
    with pytest.raises(ScenarioError, match="lang"):
        make_scenario(lang="fr")

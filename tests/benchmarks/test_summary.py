"""README's speed table (`python -m benchmarks.summary`): each benchmark's headline against its
target, only from the result files of this `invoke bench`, with the machine line."""

from __future__ import annotations

import json
import os

from benchmarks import summary

COMMAND = {
    "epochs": 6,
    "reps": 1,
    "rows": [
        {
            "name": "per epoch, default command vs raw loop, piped (epoch log)",
            "ratio": {"median": 1.25, "range": [1.2, 1.3]},
            "target": 1.10,
        }
    ],
    "bar_accounted": {"share": 0.012, "target_share": 0.02},
}
TUNE = {
    "quick": True,
    "overhead": {"overhead_s": [0.2, 0.1], "median_s": 0.15, "range_s": [0.1, 0.2], "met": True},
}


def write_results(tmp_path, monkeypatch, **results) -> None:
    paths = {name: tmp_path / f"results-{name}.json" for name in summary.RESULTS}
    monkeypatch.setattr(summary, "RESULTS", paths)
    for name, data in results.items():
        paths[name].write_text(json.dumps(data))


def test_each_row_says_its_ratio_and_whether_it_meets_its_target(tmp_path, monkeypatch) -> None:
    write_results(tmp_path, monkeypatch, command=COMMAND, tune=TUNE)
    table = summary.table()
    assert table.startswith("Measured by `invoke bench --quick` on ")
    assert "vCPUs" in table.splitlines()[0] and "torch " in table.splitlines()[0]
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table.splitlines()}
    piped = next(line for name, line in rows.items() if name.startswith("per epoch"))
    assert "| 1.25× (1.20–1.30) | ≤ 1.10× ✘ |" in piped
    bar = next(line for name, line in rows.items() if name.startswith("progress bar, accounted"))
    assert "| 1.20% | ≤ 2% ✔ |" in bar
    trial = next(line for name, line in rows.items() if "per-trial overhead" in name)
    assert "0.15 s (0.10–0.20)" in trial and "(2 trials)" in trial and "✔" in trial
    assert "(not run: system, training)" in table


def test_result_files_older_than_this_run_are_left_out(tmp_path, monkeypatch) -> None:
    write_results(tmp_path, monkeypatch, command=COMMAND, tune=TUNE)
    old = summary.RESULTS["tune"]
    os.utime(old, (1_000_000, 1_000_000))
    table = summary.table(since=2_000_000)
    assert "per-trial overhead" not in table and "(not run: system, training, tune)" in table


def test_a_quick_run_leaves_out_its_wall_difference_rows(tmp_path, monkeypatch) -> None:
    from benchmarks.bench_command import WALL_DIFFERENCE

    row = {**COMMAND["rows"][0], "method": WALL_DIFFERENCE}
    printed = {**COMMAND["rows"][0], "name": "per epoch as each process times its epochs"}
    for epochs, shown in ((3, False), (6, True)):
        quick = {**COMMAND, "epochs": epochs, "rows": [row, printed]}
        write_results(tmp_path, monkeypatch, command=quick)
        table = summary.table()
        assert ("default command vs raw loop, piped" in table) is shown
        assert "per epoch as each process times its epochs" in table


def test_a_row_without_a_target_says_so_and_gets_no_verdict(tmp_path, monkeypatch) -> None:
    floor = {
        "name": "per epoch side by side: Lightning's own loop and the raw loop",
        "ratio": {"median": 1.15, "range": [1.1, 1.2]},
        "target": None,
        "epochs": 5,
    }
    write_results(tmp_path, monkeypatch, command={**COMMAND, "rows": [floor]})
    (line,) = [line for line in summary.table().splitlines() if "Lightning's own loop" in line]
    assert "(whole processes, 5 epochs, 1 repetitions)" in line
    verdict = "– (a factor of the default-vs-raw side-by-side row)"
    assert line.endswith(f"| 1.15× (1.10–1.20) | {verdict} |")

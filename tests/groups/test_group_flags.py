"""Bad group flags end before any training: exit 2 and one line naming the flag."""

from __future__ import annotations

import pytest

from src.train import main
from tests.helpers import run_in_process, tiny_train_args


@pytest.mark.parametrize(
    ("words", "named"),
    [
        (["--seeds", "0"], "--seeds 0"),
        (["--seeds", "a,b"], "--seeds a,b"),
        (["--seeds", "3,3"], "--seeds 3,3"),
        (["--folds", "1"], "--folds 1"),
        (["--folds", "a"], '"folds": expected int'),  # jsonargparse's words for the flag
        (["--n-jobs", "2"], "--n-jobs 2"),
        (["--seeds", "2", "--n-jobs", "0"], "--n-jobs 0"),
        (["--seeds", "2", "--ckpt_path", "last"], "--seeds/--folds with --resume/--ckpt_path"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_bad_group_flags_exit_2_with_one_line_naming_the_flag(
    words, named, tiny_data_dir, tmp_path, tracking_env, capsys
) -> None:
    base = tiny_train_args(tiny_data_dir, tmp_path, "bad-flags")
    code, _, err = run_in_process(main, [*base, *words], capsys)
    assert code == 2, err
    (line,) = err.strip().splitlines()
    assert line.startswith("error: ") and named in line, line
    assert not (tmp_path / "checkpoints").exists()  # refused before a run was opened

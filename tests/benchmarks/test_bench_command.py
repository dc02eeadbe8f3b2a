"""The whole-command benchmark reads the epoch times each process printed: src.train's epoch log
(also above the bar in a terminal, amid its escape codes) and the raw loop's lines."""

from __future__ import annotations

from benchmarks.bench_command import printed_epochs


def test_the_first_epoch_is_left_out_and_both_line_formats_are_read() -> None:
    ours = (
        "GPU available: False, used: False\n"
        "epoch 1/3 | train loss 0.2687 acc 0.9177 | val loss 0.1358 acc 0.9590 | 2.3 s\n"
        "epoch 2/3 | train loss 0.1058 acc 0.9674 | val loss 0.1009 acc 0.9708 | 2.6 s\n"
        "epoch 3/3 | train loss 0.0613 acc 0.9816 | val loss 0.0789 acc 0.9738 | 2.4 s\n"
    )
    raw = "epoch 1 val loss 0.1339 acc 0.9588 2.1 s\nepoch 2 val loss 0.0970 acc 0.9704 2.0 s\n"
    assert printed_epochs(ours) == [2.6, 2.4]
    assert printed_epochs(raw + "test loss 0.0600 acc 0.9800\n") == [2.0]


def test_lines_printed_above_a_live_bar_are_read_through_its_escape_codes() -> None:
    terminal = (
        "\x1b[?25lEpoch 1/2 \x1b[35m━━━━\x1b[0m 10/430\r\x1b[2K"
        "epoch 1/2 | train loss 0.27 acc 0.92 | val loss 0.14 acc 0.96 | 2.3 s\r\n"
        "\x1b[2Kepoch 2/2 | train loss 0.11 acc 0.97 | val loss 0.10 acc 0.97 | 2.5 s\r\n"
    )
    assert printed_epochs(terminal) == [2.5]

"""suite.cli.console: the terminal output every command shares. An error is one line starting
"error: " on stderr; text from files reaches the terminal as text (markup, emoji codes and escape
sequences shown, not acted on); piped output gets a wide fixed width."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from suite.cli.console import PIPED_WIDTH, print_error, stderr_console, stdout_console


def test_an_error_is_one_line_on_stderr_with_its_markup_shown(capsys):
    print_error("model [bold]x[/bold] :warning: failed")
    out, err = capsys.readouterr()
    assert out == "" and err == "error: model [bold]x[/bold] :warning: failed\n"


def test_escape_sequences_from_data_are_made_visible(capsys):
    stdout_console().print("name\x1b[2J\u202eevil")
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out
    assert "\\x1b[2J" in out and "\\u202e" in out


def test_piped_output_is_wide_and_a_terminal_keeps_its_width():
    code = ("from suite.cli.console import stdout_console, stderr_console; "
            "print(stdout_console().width, stderr_console().width)")
    repo = Path(__file__).resolve().parents[3]
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo)
    assert res.stdout.split() == [str(PIPED_WIDTH), str(PIPED_WIDTH)]
    assert stderr_console().stderr is True and stdout_console().stderr is False

"""A study or config file with a YAML syntax error, an unknown top-level key or a wrong type: one `repro: error:`
line naming the file, the line and the fix (exit 2), never a traceback."""

from __future__ import annotations

import pytest

from repro.cli import main

GOOD = """study:
  paper: double_descent
  name: mine
  x: width
grid:
  model.init_args.backbone.init_args.width: [4, 8]
claims:
  - type: less_than
model:
  class_path: repro.papers.double_descent.method.DoubleDescent
"""


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = [line for line in captured.err.splitlines() if line.startswith("repro: error:")]
    assert len(lines) == 1, captured.err
    return lines[0]


@pytest.mark.parametrize("broken, line, needle", [
    (GOOD.replace("  name: mine", "  name: [mine"), None, "YAML syntax error"),      # an unclosed bracket
    (GOOD.replace("grid:", "gird:"), 5, "did you mean 'grid'"),                          # a misspelt key
    (GOOD.replace("claims:\n  - type: less_than", "claims: less_than"), 7, "claims must be a list"),
    (GOOD.replace("  - type: less_than", "  - less_than"), None, "claims[0] must be a mapping"),
])
def test_a_broken_study_file_is_one_line_naming_file_line_and_fix(tmp_path, capsys, broken, line, needle):
    path = tmp_path / "mine.yaml"
    path.write_text(broken)
    message = _error(capsys, ["reproduce", "double_descent", "--study", str(path)])
    assert str(path) in message and needle in message
    if line is not None:
        assert f"{path}:{line}:" in message


def test_the_syntax_error_names_the_line_it_is_on(tmp_path, capsys):
    path = tmp_path / "mine.yaml"
    path.write_text(GOOD.replace("  x: width", "  x: width\n   bad: indent"))
    message = _error(capsys, ["reproduce", "double_descent", "--study", str(path)])
    assert f"{path}:5:" in message and "indentation" in message


def test_repro_fit_with_a_broken_config_is_one_clear_error(tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text("trainer:\n  max_epochs: [3\n")
    message = _error(capsys, ["fit", "--config", str(path)])
    assert str(path) in message and "YAML syntax error" in message

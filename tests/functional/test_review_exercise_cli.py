"""Review regressions of the exercise commands through the CLI (offline or a moto server)."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner, Result

from ebdemo.cli import main


def cli(project: Any, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(project.path), *args])


def test_diagram_tree_wraps_a_long_pattern_instead_of_cropping_it(project):
    """Piped (80 columns), a rule's pattern past the width was cut off without a mark."""
    values = [f"value-number-{i:02d}" for i in range(12)]
    p = project()
    p.config["rules"]["order"]["pattern"]["detail"] = {"kind": values}
    p.write()
    result = cli(p, "diagram")
    assert result.exit_code == 0, result.output
    flat = "".join(line.strip().lstrip("│├└─ ") for line in result.stdout.splitlines())
    for value in values:
        assert value in flat

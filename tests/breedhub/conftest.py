"""Fixtures of the command-line tests: ``breedhub`` run in-process against a fresh home."""

import pytest
from click.testing import CliRunner

from breedhub.cli import main


@pytest.fixture
def cli(home):
    """Run `breedhub ARGS...`; unless ok=False, a non-zero exit fails the test."""
    runner = CliRunner()

    def run(*args, ok=True):
        result = runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output + result.stderr
        return result

    return run

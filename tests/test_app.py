"""app.py as a host starts it: a bad setting in the environment is one line and exit code 1."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PLAYGROUND_MAX_BEAMS": "lots"}, "error: environment variable PLAYGROUND_MAX_BEAMS must be a number"),
        ({"PLAYGROUND_PRECISION": "fp64"}, "error: Unknown precision 'fp64'"),
    ],
)
def test_a_bad_host_setting_stops_the_app_with_one_line(env, message):
    done = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith(message)
    assert "Traceback" not in done.stderr

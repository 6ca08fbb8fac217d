"""The README's Python examples run as written, each block on its own in a fresh
interpreter, and twice in a row in the same folder (a reader reruns examples). The only
change: ``epochs=30`` becomes ``epochs=1``, so that the training example fits in a test."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_python_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_a_readme_example_runs_as_written_twice(number, tmp_path):
    code = BLOCKS[number].replace("epochs=30", "epochs=1")
    for attempt in (1, 2):
        r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 0, f"block {number + 1}, run {attempt}:\n{r.stderr[-3000:]}"

"""README.md is assembled from docs/ fragments and must be up to date."""

from __future__ import annotations

import subprocess
import sys

from refdata import REPO_ROOT


def test_readme_is_built_from_the_fragments():
    result = subprocess.run(
        [sys.executable, "scripts/build_readme.py", "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_readme_opens_with_the_two_commands():
    text = (REPO_ROOT / "README.md").read_text()
    head = text[: text.index("## Install")]
    assert "make run" in head and "make test" in head

"""Print pip constraints that pin every runtime dependency of pyproject.toml to its declared floor.

`.ci/run --lowest` installs with them, so CI proves the floors are true. A dependency without a `>=`
floor is an error: a floor that is not declared cannot be tested.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

_FLOOR = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*>=\s*([0-9][0-9A-Za-z.+!-]*)\s*(?:,|;|$)")


def lowest_constraints(pyproject: Path) -> list[str]:
    dependencies = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    constraints = []
    for requirement in dependencies:
        found = _FLOOR.match(requirement)
        if found is None:
            raise SystemExit(f"{pyproject}: {requirement!r} has no '>=' floor to test")
        constraints.append(f"{found[1]}=={found[2]}")
    return constraints


if __name__ == "__main__":
    print("\n".join(lowest_constraints(Path(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml"))))

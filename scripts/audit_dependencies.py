"""Audit the installed dependencies for known vulnerabilities with pip-audit (run by `make test`).

pip-audit asks PyPI for each dependency's known vulnerabilities. Where the machine cannot get
them (this project's CI sees only a package mirror), pip-audit reports every dependency as "not
found" and passes; this script says loudly that nothing was audited instead of passing quietly.
That exception is recorded in docs/safety/hazard-log.yaml (H-14).
"""

from __future__ import annotations

import json
import subprocess  # nosec B404
import sys
from pathlib import Path


def main() -> int:
    """0 when no known vulnerability is found; nonzero (pip-audit's code) otherwise."""
    bin_dir = Path(sys.executable).parent
    # Fixed argument lists, this virtualenv's own tools, no shell.
    frozen = subprocess.run(  # nosec B603
        [str(bin_dir / "pip"), "freeze", "--exclude-editable"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    audit = subprocess.run(  # nosec B603
        [str(bin_dir / "pip-audit"), "--progress-spinner", "off", "-f", "json", "-r", "/dev/stdin"],
        input=frozen,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        dependencies = json.loads(audit.stdout)["dependencies"]
    except (json.JSONDecodeError, KeyError):
        print(audit.stdout, audit.stderr, sep="\n", file=sys.stderr)
        return audit.returncode or 1
    audited = [d for d in dependencies if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    for dependency in vulnerable:
        ids = ", ".join(v["id"] for v in dependency["vulns"])
        print(f"VULNERABLE {dependency['name']} {dependency['version']}: {ids}", file=sys.stderr)
    if not audited:
        print(
            f"pip-audit: NOT AUDITED - none of {len(dependencies)} dependencies could be looked "
            "up (no route to PyPI's vulnerability data). Run `make test` where pypi.org is "
            "reachable before a release.",
            file=sys.stderr,
        )
    else:
        print(f"pip-audit: {len(audited)} dependencies audited, {len(vulnerable)} vulnerable")
    return 1 if vulnerable else 0


if __name__ == "__main__":
    raise SystemExit(main())

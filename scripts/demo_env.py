"""The demo's Home Assistant installed as Home Assistant itself pins it.

    demo_env.py constraints WHEEL OUT   write Home Assistant's pip constraints for that release
    demo_env.py requirements DOMAIN...  the requirements of what the demo's Home Assistant loads
    demo_env.py check CONSTRAINTS       prove the installed venv follows them and resolves names

``constraints`` reads the homeassistant wheel: its ``homeassistant/package_constraints.txt``
(what Home Assistant itself installs integrations with) plus the exact pins among the wheel's
own requirements (``Requires-Dist: name==version``). ``scripts/demo`` installs with
``pip install -r requirements_demo.txt -c OUT``, so the demo gets the libraries that release's
users get, not whatever is newest on PyPI (a pycares 5 next to aiodns 3.2 made every host name
lookup raise ``TypeError: Channel.getaddrinfo() takes 3 positional arguments``).

``requirements`` (run with the venv's python, after Home Assistant is installed) prints the
requirements of the integrations Home Assistant always sets up, of the given domains and of
their dependencies, from the integrations' manifests. Home Assistant would install them at its
first start, racing its own onboarding (a config flow importing ``tts`` before ``mutagen`` is
there fails with a traceback); installed beforehand, with the same constraints, it installs
nothing.

``check`` runs with the demo venv's python: every installed distribution that the constraints
name must satisfy them, and a name lookup through aiohttp's aiodns resolver (the one Home
Assistant's HTTP client uses) must work. Exit status 1 with the reasons otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import email.parser
from importlib import metadata
import json
from pathlib import Path
import sys
import zipfile

CONSTRAINTS_MEMBER = "homeassistant/package_constraints.txt"


def _wheel_pins(wheel: zipfile.ZipFile) -> list[str]:
    """Return the ``==`` pins among the wheel's Requires-Dist (markers kept)."""
    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    message = email.parser.Parser().parsestr(wheel.read(name).decode())
    return [
        req
        for req in message.get_all("Requires-Dist") or []
        if "==" in req.split(";", 1)[0] and "extra ==" not in req
    ]


def write_constraints(wheel_path: Path, out: Path) -> None:
    """Write the release's constraints (see the module docstring) to ``out``."""
    with zipfile.ZipFile(wheel_path) as wheel:
        package_constraints = wheel.read(CONSTRAINTS_MEMBER).decode()
        pins = _wheel_pins(wheel)
    out.write_text(
        f"# Written by scripts/demo_env.py from {wheel_path.name}: do not edit.\n"
        f"# {CONSTRAINTS_MEMBER}\n{package_constraints.rstrip()}\n"
        "# the wheel's own pinned requirements (Requires-Dist)\n" + "\n".join(pins) + "\n"
    )
    print(f"    constraints: {out} ({len(package_constraints.splitlines())} + {len(pins)} lines)")


def integration_requirements(domains: list[str]) -> list[str]:
    """Return the requirements of ``domains``, the always-loaded ones and their dependencies."""
    from homeassistant import bootstrap, components  # noqa: PLC0415

    root = Path(components.__path__[0])
    todo = set(domains) | set(bootstrap.CORE_INTEGRATIONS)
    # (Stage 0/1 integrations such as cloud, bluetooth or sentry load only when configured.)
    for name in ("FRONTEND_INTEGRATIONS", "DEFAULT_INTEGRATIONS"):
        todo |= set(getattr(bootstrap, name, ()))
    seen: set[str] = set()
    requirements: set[str] = set()
    while todo:
        domain = todo.pop()
        seen.add(domain)
        manifest = root / domain / "manifest.json"
        if not manifest.is_file():
            continue  # a custom integration: its own requirements come from requirements_demo
        data = json.loads(manifest.read_text())
        requirements.update(data.get("requirements", []))
        todo |= set(data.get("dependencies", [])) - seen
    return sorted(requirements, key=str.lower)


def _constraint_problems(path: Path) -> list[str]:
    """Return the installed distributions that do not satisfy a constraint of ``path``."""
    from packaging.requirements import InvalidRequirement, Requirement  # noqa: PLC0415

    problems = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            continue  # constraints only bind what gets installed
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name} {version} installed, Home Assistant pins {req}")
    return problems


async def _lookup(host: str) -> str | None:
    """Resolve ``host`` with aiohttp's aiodns resolver; return the error, if any."""
    import aiohttp  # noqa: PLC0415

    resolver = aiohttp.AsyncResolver()
    try:
        await resolver.resolve(host, 80)
    except Exception as err:  # any failure is the finding
        return f"looking up {host!r} raised {type(err).__name__}: {err}"
    finally:
        await resolver.close()
    return None


def check(constraints: Path) -> int:
    """Check the running venv (see the module docstring); print and return the exit status."""
    problems = _constraint_problems(constraints)
    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("homeassistant", "aiodns", "pycares")
    )
    if error := asyncio.run(_lookup("localhost")):
        problems.append(error)
    if problems:
        print(f"The demo venv is not the Home Assistant users run ({versions}):", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"    venv follows {constraints.name}; name lookups work ({versions})")
    return 0


def main() -> int:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("constraints")
    write.add_argument("wheel", type=Path)
    write.add_argument("out", type=Path)
    needs = commands.add_parser("requirements")
    needs.add_argument("domains", nargs="*")
    verify = commands.add_parser("check")
    verify.add_argument("constraints", type=Path)
    args = parser.parse_args()
    if args.command == "constraints":
        write_constraints(args.wheel, args.out)
        return 0
    if args.command == "requirements":
        print("\n".join(integration_requirements(args.domains)))
        return 0
    return check(args.constraints)


if __name__ == "__main__":
    sys.exit(main())

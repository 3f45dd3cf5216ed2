"""The layers of docs/architecture.md hold, and the import-linter contracts that enforce them in
`make test` really fail on an upward import."""
from __future__ import annotations

import ast
import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("services", "tenants", "workers", "deploy")
DOMAIN_FLASK_NAMES = {"current_app", "render_template"}   # no request, session, g, Blueprint: those are the web's


def _contracts() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(ROOT / ".importlinter")
    return parser


def _layers() -> list[list[str]]:
    text = _contracts()["importlinter:contract:layers"]["layers"]
    return [[m.strip() for m in line.replace("|", ":").split(":")] for line in text.strip().splitlines()]


def _lint(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT), "--no-cache", "--config", str(tree / ".importlinter")], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=120)


def _copy_tree(tmp_path: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns(
            "__pycache__", "static", "templates", "translations", "migrations", "node_modules"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def test_every_part_of_services_has_a_layer():
    named = {m for layer in _layers() for m in layer}
    parts = {f"services.{p.stem if p.suffix else p.name}" for p in (ROOT / "services").iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    assert parts - named == set(), "add these to a layer in .importlinter"


def test_the_tree_keeps_its_contracts(tmp_path):
    result = _lint(_copy_tree(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, added, reported", [
    ("retention", "import services.app", "workers.retention -> services.app"),           # upwards
    ("mail", "from services.web import forms", "workers.mail -> services.web.forms"),   # sideways
])
def test_a_bad_import_in_a_worker_breaks_the_build(tmp_path, module, added, reported):
    tree = _copy_tree(tmp_path)
    worker = tree / "workers" / f"{module}.py"
    worker.write_text(worker.read_text() + f"\n{added}  # noqa: E402,F401\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert reported in result.stdout


def test_the_domain_uses_no_request_or_blueprint():
    domain = [m for m in _layers()[3]]
    offenders = []
    for module in domain:
        for path in (ROOT / Path(*module.split("."))).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module == "flask":
                    extra = {a.name for a in node.names} - DOMAIN_FLASK_NAMES
                    if extra:
                        offenders.append(f"{path.relative_to(ROOT)}: {sorted(extra)}")
    assert offenders == []

"""Start-up stays light: statsmodels (about a second to import) loads only when a model or an
adjusted p-value is asked for, not for `python -m analysis validate` or the Overview page; scipy
(about a second), the MMRM and the SQL source are not imported by the modules the dashboard and
its Overview load before their first chart."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


def test_cli_import_does_not_load_statsmodels():
    loaded = _modules_after("import analysis.cli")
    assert "analysis.cli" in loaded
    assert "statsmodels" not in loaded


def test_validate_command_does_not_load_statsmodels():
    loaded = _modules_after(
        "from analysis.cli import main\n"
        "try:\n    main(['validate', 'data/demo_cohort.csv'])\nexcept SystemExit:\n    pass"
    )
    assert "statsmodels" not in loaded


def test_opening_the_dashboard_does_not_load_statsmodels():
    loaded = _modules_after(
        "from streamlit.testing.v1 import AppTest\n"
        "at = AppTest.from_file('dashboard.py', default_timeout=120).run()\n"
        "assert not at.exception and at.title[0].value == 'Overview'"
    )
    assert "streamlit" in loaded
    assert "statsmodels" not in loaded
    assert not {"sqlalchemy", "sqlglot"} & loaded  # the SQL source loads only when chosen


def _top_imports(path: str) -> list[str]:
    """The modules a script imports before its first statement."""
    tree = ast.parse((ROOT / path).read_text())
    names: list[str] = []
    for node in tree.body[1:]:  # after the docstring
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        else:
            break
    return names


def test_dashboard_and_overview_imports_load_no_scipy():
    modules = sorted(set(_top_imports("dashboard.py") + _top_imports("pages/overview.py")))
    assert "ui.state" in modules and "analysis.present.figures" in modules
    loaded = _modules_after("\n".join(f"import {name}" for name in modules))
    heavy = {"scipy", "statsmodels", "sqlalchemy", "sqlglot", "analysis.stats.mmrm",
             "analysis.stats.imputation"}  # fmt: skip
    assert not heavy & loaded

"""The documentation cannot drift from the code: the configuration reference is the generated
one, every figure in plots/ is shown on exactly one study page beside the command that redraws
it, every relative link resolves, and the README's commands and example imports are current."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rramsim.config.reference import REGENERATE, markdown

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
STUDY_PAGES = DOCS / "studies"
PLOTS = ROOT / "plots"

#: Figures are named ``<study>__<figure>.png``; the script that draws them is
#: ``studies/<study>.py``, except for these prefixes.
SCRIPT_OF_PREFIX = {"device": "device_figures"}

#: The two commands the README opens with (CI runs the second one).
README_COMMANDS = ("python3.11 -m pip install . && rramsim demo\n"
                   "python3.11 -m pip install '.[test]' && python3.11 -m pytest\n")

_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _markdown_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md", PLOTS / "README.md",
             ROOT / "rramsim" / "nn" / "README.md"]
    return [f for f in files if f.is_file()] + sorted(DOCS.rglob("*.md"))


def _local_links(page: Path) -> list[tuple[str, Path]]:
    """``(target as written, resolved path)`` for every relative link of a Markdown page."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # links in code are code
    text = re.sub(r"`[^`\n]*`", "", text)
    out = []
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = target.split("#", 1)[0]
        out.append((target, (page.parent / path).resolve()))
    return out


def test_configuration_reference_is_generated():
    committed = (DOCS / "configuration.md").read_text()
    assert committed == markdown(), (
        f"docs/configuration.md differs from the field declarations in rramsim/config/; "
        f"regenerate it with `{REGENERATE}`")


def test_python_m_rramsim_config_prints_the_reference():
    res = subprocess.run([sys.executable, "-m", "rramsim.config"], capture_output=True,
                         text=True, cwd=ROOT, check=True)
    assert res.stdout == markdown()


def test_every_relative_link_resolves():
    broken = [f"{page.relative_to(ROOT)}: {target}" for page in _markdown_files()
              for target, path in _local_links(page) if not path.exists()]
    assert not broken, "links to files that do not exist:\n" + "\n".join(broken)


def test_every_figure_is_on_one_study_page_with_its_command():
    pngs = sorted(PLOTS.glob("*.png"))
    assert pngs, "no figures in plots/"
    pages = sorted(STUDY_PAGES.glob("*.md"))
    linked = {page: {path for _, path in _local_links(page)} for page in pages}
    problems = []
    for png in pngs:
        on = [page for page in pages if png.resolve() in linked[page]]
        if len(on) != 1:
            where = ", ".join(p.name for p in on) or "no page"
            problems.append(f"plots/{png.name} is linked from {where} (need exactly one "
                            f"docs/studies/ page, as ../../plots/{png.name})")
            continue
        prefix = png.stem.split("__")[0]
        script = f"studies/{SCRIPT_OF_PREFIX.get(prefix, prefix)}.py"
        if not (ROOT / script).is_file():
            problems.append(f"plots/{png.name}: no script {script} draws it")
        elif f"python {script}" not in on[0].read_text():
            problems.append(f"plots/{png.name}: {on[0].relative_to(ROOT)} does not name the "
                            f"command `python {script}` that redraws it")
    assert not problems, "\n".join(problems)


def test_every_study_has_its_command_on_a_study_page():
    text = "\n".join(p.read_text() for p in STUDY_PAGES.glob("*.md"))
    missing = [s.name for s in sorted((ROOT / "studies").glob("*.py"))
               if not s.name.startswith("bench_") and f"python studies/{s.name}" not in text]
    assert not missing, f"studies without a page naming their command: {missing}"


def test_benchmarks_are_on_the_performance_page():
    text = (DOCS / "performance.md").read_text()
    missing = [s.name for s in sorted((ROOT / "studies").glob("bench_*.py"))
               if s.name != "bench_kernels.py" and f"python studies/{s.name}" not in text]
    assert not missing, f"benchmarks not named in docs/performance.md: {missing}"


def test_readme_opens_with_the_install_and_test_commands():
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```[a-z]*\n(.*?)```", text, flags=re.S)
    assert first_block and first_block.group(1) == README_COMMANDS
    assert text.index(first_block.group(0)) < text.index("\n## "), \
        "the two commands must come before the first section"


def test_readme_example_imports_exist():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "the README has no Python example"
    missing = []
    for block in blocks:
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.ImportFrom) and node.module.startswith("rramsim"):
                module = importlib.import_module(node.module)
                missing += [f"{node.module}.{a.name}" for a in node.names
                            if not hasattr(module, a.name)]
            elif isinstance(node, ast.Import):
                for a in node.names:
                    importlib.import_module(a.name)
    assert not missing, f"README example imports names that do not exist: {missing}"


def test_user_docs_carry_no_dates():
    dated = [f"{p.relative_to(ROOT)}: {m.group(0)}"
             for p in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
             for m in re.finditer(r"\b20\d\d-\d\d-\d\d\b", p.read_text())]
    assert not dated, "dates belong in CHANGELOG.md, not in the user documentation:\n" + \
        "\n".join(dated)


def _python_blocks():
    """``(page, index, code)`` of every Python example in the README and docs/."""
    out = []
    for page in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]:
        for i, code in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), re.S)):
            out.append((page.relative_to(ROOT).as_posix(), i, code))
    return out


#: Examples that cannot run here, and why (anything else must run as written).
NOT_RUN = {("docs/sweeps.md", 0): "starts workers on a SLURM cluster (dask-jobqueue)"}


@pytest.mark.slow
@pytest.mark.parametrize("page, index, code", _python_blocks(),
                         ids=[f"{p}#{i}" for p, i, _ in _python_blocks()])
def test_every_python_example_runs_as_written(page, index, code, tmp_path):
    """Each example runs in a fresh interpreter in an empty folder; a number promised in a
    trailing ``# 78.3 %`` comment of a print line must be the number printed."""
    if (page, index) in NOT_RUN:
        assert "dask_jobqueue" in code
        pytest.skip(NOT_RUN[(page, index)])
    if "out/bs2/model.npz" in code:  # the example maps the network of the command before it
        subprocess.run([sys.executable, "-m", "rramsim.cli", "train-binary", "--net", "lenet",
                        "--bitsplit", "2", "--epochs", "1", "--train-subset", "200", "--quiet",
                        "--out", "out/bs2"], cwd=tmp_path, check=True, capture_output=True)
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, f"{page} example {index} failed:\n{res.stderr[-3000:]}"
    for line in code.splitlines():
        m = re.search(r"print\(.*#\s*([-+]?\d+(?:\.\d+)?)\s*%\s*$", line)
        if m:
            assert f"{m.group(1)} %" in res.stdout, (page, m.group(1), res.stdout)

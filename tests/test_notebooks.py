"""The tutorial notebooks are committed clean and run from top to bottom without an error.

Each notebook is executed with nbclient in a kernel that runs THIS interpreter: the test
writes a kernelspec (``python3``, argv = ``sys.executable -m ipykernel_launcher``) into a
temporary folder and hands nbclient a ``KernelManager`` that looks only there, so the test
does not depend on ``python -m ipykernel install`` having been run or on which ``python3``
kernel a machine has registered. Figures use the Agg backend (``MPLBACKEND=Agg``); exported
files go to a temporary folder (``APLCOHORT_NOTEBOOK_OUT``). A notebook that raises fails.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from aplcohort.datasets import example_mapping as apc_example_mapping

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = [
    "01_replicate_min2022.ipynb",
    "02_your_cohort.ipynb",
    "03_competing_risks_and_transplant_timing.ipynb",
]
# Each notebook runs in an empty folder outside the repository: after `pip install aplcohort`
# a notebook must not need the repository's files or a particular working directory.
CELL_TIMEOUT = 120  # seconds per cell; the whole notebooks take well under a minute


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory) -> Path:
    """A folder holding a ``python3`` kernelspec that starts the current interpreter."""
    import ipykernel  # noqa: F401  (the kernel must be importable by this interpreter)

    kernels = tmp_path_factory.mktemp("jupyter") / "kernels"
    spec = kernels / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (aplcohort tests)",
        "language": "python",
    }), encoding="utf-8")
    return kernels


def _read(name: str):
    return nbformat.read(NB_DIR / name, as_version=nbformat.NO_CONVERT)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_clean(name):
    nb = _read(name)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    for c in code:
        assert c.outputs == [], f"{name}: cell {c.get('id')} has stored outputs; clear them"
        assert c.execution_count is None, f"{name}: cell {c.get('id')} has an execution count"
    first = nb.cells[0]
    assert first.cell_type == "markdown" and "SYNTHETIC" in first.source


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_uses_the_public_api(name):
    """No repository paths, no set-up boilerplate, no surgery on internal objects."""
    code = "\n".join(c.source for c in _read(name).cells if c.cell_type == "code")
    assert "import aplcohort as apc" in code
    for banned in ("data/synthetic", '"data"', "pyproject", "find_repo_root", "dataclasses",
                   "sys.path", "get_ipython"):
        assert banned not in code, f"{name}: {banned!r} in a code cell"
    setup = next(c.source for c in _read(name).cells if c.cell_type == "code")
    assert len(setup.splitlines()) <= 25, f"{name}: set-up cell of {len(setup.splitlines())} lines"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(name, kernel_dir, tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("APLCOHORT_NOTEBOOK_OUT", str(out))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))   # notebook temporary folders land here
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    before = sorted(p.name for p in NB_DIR.iterdir())

    nb = _read(name)
    km = KernelManager(kernel_name="python3",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]))
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()  # raises CellExecutionError (with the cell and traceback) if a cell fails

    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    # running a notebook writes nothing into notebooks/ (exports go to APLCOHORT_NOTEBOOK_OUT)
    assert sorted(p.name for p in NB_DIR.iterdir()) == before
    if name.startswith("01"):
        exported = {p.name for p in (out / "01_replicate_min2022").iterdir()}
        assert {"figure1_flow.png", "figure2a_os_cr2.pdf", "table1_reinduction.docx",
                "plan_min2022"} <= exported
        results = json.loads((out / "01_replicate_min2022" / "plan_min2022" / "results.json")
                             .read_text(encoding="utf-8"))
        assert results["provenance"]["synthetic_data"] is True
    if name.startswith("02"):
        report = out / "02_your_cohort"
        assert (report / "results.json").is_file() and (report / "report.html").is_file()
        assert not list(report.rglob("*.xlsx")), "the institutional spreadsheet leaked into the report"


def test_example_mapping_maps_every_synthetic_column():
    """The packaged example mapping (aplcohort/synthetic/example_mapping.yaml) is a valid mapping covering the whole synthetic cohort."""
    import pandas as pd

    from aplcohort.cohort import load_mapping

    m = load_mapping(apc_example_mapping())
    synthetic_columns = list(pd.read_csv(ROOT / "data" / "synthetic" / "min2022.csv", nrows=0).columns)
    assert sorted(m.columns.values()) == sorted(synthetic_columns)
    assert m.date_format == "%d/%m/%Y"
    assert m.units["wbc_diagnosis"].factor == pytest.approx(1e-3)
    assert m.values["relapse_type"] == {"1": "hematologic", "2": "molecular", "3": "extramedullary"}


def test_readme_lists_every_notebook():
    text = (NB_DIR / "README.md").read_text(encoding="utf-8")
    for name in NOTEBOOKS:
        assert name in text

"""The `eagerscript` command (run as `python -m export`) on small saved graphs."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import eager
import export
from tests.export import graphs

ROOT = Path(__file__).resolve().parents[2]


def eagerscript(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "export", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


@pytest.fixture(scope="module")
def mlp_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "mlp.esm"
    export.save(graphs.mlp(), path, metadata={"task": "demo"})
    return path


@pytest.mark.parametrize("command", ["trace", "script", "inspect", "run"])
def test_every_subcommand_has_help_with_an_example(command):
    result = eagerscript(command, "--help")
    assert result.returncode == 0
    assert f"example:\n  eagerscript {command} " in result.stdout


def test_inspect_prints_interface_parameters_and_ops(mlp_file):
    result = eagerscript("inspect", mlp_file)
    assert result.returncode == 0, result.stderr
    assert "  x: float32 [N, 4]" in result.stdout
    assert "parameters: 64 (256 bytes)" in result.stdout
    assert "arena: 128 bytes (planned for x [1, 4])" in result.stdout  # h and a, 64 bytes each
    assert "ops: prim::param x3, linear x2, relu x1" in result.stdout
    assert "metadata task: demo" in result.stdout


def test_inspect_json_matches_export_inspect_and_graph_adds_the_ir_text(mlp_file):
    result = eagerscript("inspect", mlp_file, "--json", "--graph")
    info = json.loads(result.stdout)
    graph_text = info.pop("graph")
    assert info == export.inspect(mlp_file)
    assert graph_text == str(graphs.mlp().graph)


def test_run_writes_outputs_equal_to_the_interpreter(mlp_file, tmp_path):
    x = graphs.example_inputs("mlp", 5)[0]
    np.save(tmp_path / "x.npy", x)
    result = eagerscript("run", mlp_file, "--input", f"x={tmp_path / 'x.npy'}", "--output-dir", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("y: float32 [5, 3] [")
    want = graphs.mlp()(eager.tensor(x)).numpy()
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "y.npy"), want)


@pytest.mark.parametrize(("make_args", "message"), [
    (lambda d: [], "missing input 'x'; the model's inputs are: x"),
    (lambda d: ["--input", f"z={d / 'x.npy'}"], "unknown input 'z'"),
    (lambda d: ["--input", f"x={d / 'wide.npy'}"], "input x: shape [5, 7] does not match the model's [N, 4]"),
    (lambda d: ["--input", f"x={d / 'f64.npy'}"], "input x: dtype float64, the model expects float32"),
    (lambda d: ["--input", f"x={d / 'nope.npy'}"], "no such file"),
])
def test_run_errors_are_one_line_with_exit_status_1(mlp_file, tmp_path, make_args, message):
    np.save(tmp_path / "x.npy", np.zeros((5, 4), np.float32))
    np.save(tmp_path / "wide.npy", np.zeros((5, 7), np.float32))
    np.save(tmp_path / "f64.npy", np.zeros((5, 4)))
    result = eagerscript("run", mlp_file, *make_args(tmp_path))
    assert result.returncode == 1
    assert result.stderr.startswith("eagerscript run: error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1


def test_inspect_of_a_non_esm_file_fails_with_the_format_error(tmp_path):
    (tmp_path / "junk.esm").write_bytes(b"\x01" * 100)
    result = eagerscript("inspect", tmp_path / "junk.esm")
    assert result.returncode == 1
    assert "not a valid .esm model: file identifier" in result.stderr


def test_trace_with_a_bad_target_names_the_problem(tmp_path):
    result = eagerscript("trace", "no_such_file.py:Net", "--example-input", "1x4", "-o", tmp_path / "m.esm")
    assert result.returncode == 1 and "no such file: no_such_file.py" in result.stderr
    (tmp_path / "models.py").write_text("X = 1\n")
    result = eagerscript("trace", tmp_path / "models.py:Net", "--example-input", "1x4", "-o", tmp_path / "m.esm")
    assert result.returncode == 1 and "has no attribute 'Net'" in result.stderr
    result = eagerscript("trace", tmp_path / "models.py:X", "--example-input", "1xA", "-o", tmp_path / "m.esm")
    assert result.returncode == 1 and "expected DIMxDIM...[:dtype]" in result.stderr


MODEL_SOURCE = """\
import eager
from eager import nn


class Flatten(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 2)

    def forward(self, x):
        return self.fc(eager.relu(x.reshape(x.shape[0], -1)))


def make():
    return Flatten()
"""


@pytest.fixture()
def model_dir(tmp_path) -> Path:
    (tmp_path / "models.py").write_text(MODEL_SOURCE)
    return tmp_path


def test_trace_with_weights_and_dynamic_batch_then_run_matches_eager(model_dir):
    sys.path.insert(0, str(model_dir))
    try:
        import models
    finally:
        sys.path.remove(str(model_dir))
    eager.manual_seed(1)
    model = models.Flatten()
    eager.save(model.state_dict(), model_dir / "ckpt.pt")
    out = model_dir / "flat.esm"
    result = eagerscript("trace", "models:make", "--example-input", "2x2x3:float32", "--dynamic-batch",
                         "--weights", "ckpt.pt", "--no-optimize", "-o", out, cwd=model_dir)
    assert result.returncode == 0, result.stderr
    assert "eagerscript: tracing models:make on (2x2x3) with a symbolic batch" in result.stderr
    info = export.inspect(out)
    assert info["inputs"][0]["shape"] == ["N", 2, 3] and info["export_mode"] == "trace"
    assert info["source_file"].endswith("models.py") and info["source_hash"].startswith("sha256:")
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    np.save(model_dir / "x.npy", x)
    result = eagerscript("run", out, "--input", "x=x.npy", "--output-dir", "out", cwd=model_dir)
    assert result.returncode == 0, result.stderr
    (output_file,) = (model_dir / "out").iterdir()
    np.testing.assert_allclose(np.load(output_file), model(eager.tensor(x)).detach().numpy(), rtol=1e-6)


SCRIPTED_SOURCE = """\
import eager
from eager import nn


class Gate(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x, n: int):
        h = self.fc(x)
        if h.sum() > 0:
            h = eager.relu(h)
        else:
            h = -h
        i = 0
        while i < n:
            h = eager.tanh(h)
            i += 1
        return h
"""


def test_script_keeps_control_flow_and_runs_with_a_scalar_input(tmp_path):
    (tmp_path / "gate.py").write_text(SCRIPTED_SOURCE)
    result = eagerscript("script", "gate.py:Gate", "--no-optimize", "-o", "gate.esm", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    info = export.inspect(tmp_path / "gate.esm")
    assert info["export_mode"] == "script"
    assert info["ops"]["prim::if"] == 1 and info["ops"]["prim::loop"] == 1
    assert [spec["type"] for spec in info["inputs"]] == ["Tensor(float32)", "int"]
    np.save(tmp_path / "x.npy", np.ones((2, 4), np.float32))
    np.save(tmp_path / "n.npy", np.array(3))
    result = eagerscript("run", "gate.esm", "--input", "x=x.npy", "--input", "n=n.npy", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "float32 [2, 4]" in result.stdout


def test_a_script_error_is_one_line_with_file_line_and_column(tmp_path):
    (tmp_path / "bad.py").write_text(SCRIPTED_SOURCE.replace("h = eager.tanh(h)", "h = eager.tanh(h, *[1])"))
    result = eagerscript("script", "bad.py:Gate", "-o", "bad.esm", cwd=tmp_path)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("eagerscript script: error: ScriptError: ") and "bad.py:18:" in last


def test_run_with_the_c_runtime_matches_the_python_runtime(mlp_file, tmp_path):
    pytest.importorskip("export.native", reason="export.native (the C runtime binding) is not in this tree")
    np.save(tmp_path / "x.npy", graphs.example_inputs("mlp", 4)[0])
    for runtime in ("python", "c"):
        result = eagerscript("run", mlp_file, "--input", f"x={tmp_path / 'x.npy'}", "--runtime", runtime,
                             "--output-dir", tmp_path / runtime)
        assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(np.load(tmp_path / "c" / "y.npy"), np.load(tmp_path / "python" / "y.npy"),
                               rtol=1e-4, atol=1e-5)


def test_run_with_the_c_runtime_explains_when_it_is_missing(mlp_file, tmp_path):
    try:
        import export.native  # noqa: F401
        pytest.skip("export.native is present in this tree")
    except ImportError:
        pass
    np.save(tmp_path / "x.npy", graphs.example_inputs("mlp", 4)[0])
    result = eagerscript("run", mlp_file, "--input", f"x={tmp_path / 'x.npy'}", "--runtime", "c")
    assert result.returncode == 1 and "the C runtime binding export.native is not available" in result.stderr


def test_script_with_example_inputs_fixes_the_input_shapes_and_plans_memory(model_dir):
    result = eagerscript("script", "models.py:Flatten", "-o", "any.esm", cwd=model_dir)
    assert result.returncode == 0, result.stderr
    info = export.inspect(model_dir / "any.esm")
    assert info["inputs"][0]["shape"] is None and info["arena_bytes"] == 0  # shapes unknown: no plan
    result = eagerscript("script", "models.py:Flatten", "--example-input", "3x2x3", "-o", "flat.esm", cwd=model_dir)
    assert result.returncode == 0, result.stderr
    info = export.inspect(model_dir / "flat.esm")
    assert info["inputs"][0]["shape"] == [3, 2, 3] and info["arena_bytes"] > 0


def test_trace_a_file_inside_a_package_with_relative_imports(tmp_path):
    package = tmp_path / "zoo_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "layers.py").write_text(MODEL_SOURCE)
    (package / "model.py").write_text("from .layers import Flatten\n\n\ndef build():\n    return Flatten()\n")
    result = eagerscript("trace", package / "model.py:build", "--example-input", "1x2x3", "-o", tmp_path / "m.esm")
    assert result.returncode == 0, result.stderr
    assert export.inspect(tmp_path / "m.esm")["source_file"] == str(package / "layers.py")


CONV_SOURCE = """\
import eager
from eager import nn


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        h = eager.relu(self.bn(self.conv(x)))
        return self.fc(h.mean((2, 3)))


def make():
    eager.manual_seed(3)
    return ConvNet().eval()
"""


@pytest.mark.parametrize("runtime", ["python", "c"])
def test_script_with_a_dynamic_batch_runs_conv_and_batchnorm_at_any_batch(tmp_path, runtime):
    if runtime == "c":
        pytest.importorskip("export.native", reason="export.native (the C runtime binding) is not in this tree")
    (tmp_path / "conv.py").write_text(CONV_SOURCE)
    result = eagerscript("script", "conv.py:make", "--example-input", "2x3x6x6", "--dynamic-batch", "-o", "conv.esm",
                         cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "with example input shapes and a symbolic batch" in result.stderr
    info = export.inspect(tmp_path / "conv.esm")
    assert info["inputs"][0]["shape"] == ["N", 3, 6, 6] and info["export_mode"] == "script"
    x = np.random.default_rng(0).standard_normal((5, 3, 6, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    result = eagerscript("run", "conv.esm", "--input", "x=x.npy", "--runtime", runtime, "--output-dir", "out",
                         cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    spec = importlib.util.spec_from_file_location("cli_conv_model", tmp_path / "conv.py")
    conv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conv)
    (output_file,) = (tmp_path / "out").iterdir()
    np.testing.assert_allclose(np.load(output_file), conv.make()(eager.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)


def test_script_dynamic_batch_without_example_inputs_is_a_command_line_error(model_dir):
    result = eagerscript("script", "models.py:Flatten", "--dynamic-batch", "-o", "m.esm", cwd=model_dir)
    assert result.returncode == 1 and "--dynamic-batch needs --example-input" in result.stderr

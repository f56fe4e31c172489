"""The `eagerscript` command: trace / script a model to .esm, inspect a file, run it.

Every subcommand prints progress to stderr, its result to stdout, and on failure one line
`eagerscript <command>: error: <what>` with exit status 1 (2 for a command-line mistake).
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect as pyinspect
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import eager
from eager import dtypes
from jitscript.types import TensorType

EXAMPLES = {
    "trace": "eagerscript trace examples/models.py:MLP --example-input 1x784:float32 --dynamic-batch -o mlp.esm",
    "script": "eagerscript script mypkg.models:Classifier --weights ckpt.pt --example-input 1x3x32x32 "
              "--dynamic-batch -o classifier.esm",
    "inspect": "eagerscript inspect mlp.esm --graph",
    "run": "eagerscript run mlp.esm --input x=batch.npy --output-dir out/ --runtime python",
}


class CLIError(Exception):
    """A user-facing failure: printed as one line, exit status 1."""


def _progress(message: str) -> None:
    print(f"eagerscript: {message}", file=sys.stderr, flush=True)


# ---- loading the user's model ----------------------------------------------------------------------
def _import_file(path: Path):
    """Import a .py file; inside a package (directories with __init__.py) it is imported under its
    dotted name, so its relative imports work."""
    if not path.is_file():
        raise CLIError(f"no such file: {path}")
    path = path.resolve()
    root, parts = path.parent, [path.stem]
    while (root / "__init__.py").is_file():
        root, parts = root.parent, [root.name, *parts]
    sys.path.insert(0, str(root))  # so the file can import its neighbours (or its package)
    if len(parts) > 1:
        return importlib.import_module(".".join(parts))
    unique = f"_eagerscript_user_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(unique, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[unique] = module
    module_spec.loader.exec_module(module)
    return module


def _import_target(spec: str):
    """The object named by MODULE:ATTR, MODULE being an importable name or a .py file."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise CLIError(f"expected MODULE:ATTR (e.g. models.py:Net), got {spec!r}")
    if module_name.endswith(".py") or "/" in module_name:
        module = _import_file(Path(module_name))
    else:
        sys.path.insert(0, str(Path.cwd()))
        module = importlib.import_module(module_name)
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise CLIError(f"{module_name} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def _instantiate(obj, spec: str):
    """A module from ATTR: a class is constructed without arguments, a function is called, an
    instance is used as is."""
    if pyinspect.isclass(obj):
        return obj()
    if _is_module(obj):
        return obj
    if callable(obj):
        built = obj()
        if not _is_module(built):
            raise CLIError(f"{spec}: calling it returned {type(built).__name__}, not an eager.nn.Module")
        return built
    raise CLIError(f"{spec} is a {type(obj).__name__}, not a module class, factory or instance")


def _is_module(obj) -> bool:
    module_class = getattr(eager.nn, "Module", None)
    return module_class is not None and isinstance(obj, module_class)


def _load_weights(module, checkpoint: str) -> None:
    if not Path(checkpoint).is_file():
        raise CLIError(f"no such checkpoint: {checkpoint}")
    state = eager.load(checkpoint)
    if not isinstance(state, dict):
        raise CLIError(f"{checkpoint} holds a {type(state).__name__}, not a state dict (save model.state_dict())")
    module.load_state_dict(state)


def _source_file(module) -> str | None:
    try:
        return pyinspect.getsourcefile(type(module))
    except TypeError:
        return None


def _prepare_module(args):
    _progress(f"loading {args.target}")
    module = _instantiate(_import_target(args.target), args.target)
    if args.weights:
        _progress(f"loading weights from {args.weights}")
        _load_weights(module, args.weights)
    if hasattr(module, "eval"):
        module.eval()  # export is for inference: dropout off, batch norm on running stats
    return module


def _jitscript_entry(name: str):
    import jitscript

    fn = getattr(jitscript, name, None)
    if fn is None:
        raise CLIError(f"jitscript.{name} is not available in this build")
    return fn


def _finish_export(script_module, args, mode: str, source_file: str | None, dims: dict[str, int] | None = None) -> None:
    import export

    if not args.no_optimize:
        _progress("optimizing")
        script_module = _jitscript_entry("optimize")(script_module)
    export.save(script_module, args.output, mode=mode, source_file=source_file, dims=dims)
    info = export.inspect(args.output)
    _progress(f"wrote {args.output}: {sum(info['ops'].values())} nodes, {info['num_parameters']} parameters "
              f"({info['parameter_bytes']} bytes), arena {info['arena_bytes']} bytes")


# ---- trace / script ------------------------------------------------------------------------------
def parse_example_input(text: str) -> eager.Tensor:
    """A random tensor from `1x3x32x32[:float32]` (float dtypes: normal; ints: 0..9; bool)."""
    shape_text, _, dtype_name = text.partition(":")
    try:
        shape = tuple(int(d) for d in shape_text.lower().split("x"))
        dtype = dtypes.from_name(dtype_name or "float32")
    except (ValueError, TypeError) as exc:
        raise CLIError(f"--example-input {text!r}: expected DIMxDIM...[:dtype], e.g. 1x3x32x32:float32 "
                       f"({exc})") from None
    rng = np.random.default_rng(0)
    if dtype.is_floating_point:
        array = rng.standard_normal(shape)
    elif dtype is dtypes.bool_:
        array = rng.random(shape) < 0.5
    else:
        array = rng.integers(0, 10, shape)
    return eager.tensor(array.astype(dtype.np))


def cmd_trace(args) -> None:
    examples = tuple(parse_example_input(text) for text in args.example_input)
    module = _prepare_module(args)
    shapes = ", ".join("x".join(map(str, t.shape)) for t in examples)
    _progress(f"tracing {args.target} on ({shapes})" + (" with a symbolic batch" if args.dynamic_batch else ""))
    traced = _jitscript_entry("trace")(module, examples, dynamic_batch=args.dynamic_batch)
    # The stored memory plan is made for the example's batch size.
    _finish_export(traced, args, "trace", _source_file(module), dims={"N": examples[0].shape[0]})


def cmd_script(args) -> None:
    examples = tuple(parse_example_input(text) for text in args.example_input or ())
    if args.dynamic_batch and not examples:
        raise CLIError("--dynamic-batch needs --example-input: the symbolic batch is dim 0 of the example inputs")
    module = _prepare_module(args)
    _progress(f"compiling {args.target}" + (" with example input shapes" if examples else "")
              + (" and a symbolic batch" if args.dynamic_batch else ""))
    scripted = _jitscript_entry("script")(module, example_inputs=examples or None, dynamic_batch=args.dynamic_batch)
    # As for a trace, the stored memory plan is made for the example's batch size.
    dims = {"N": examples[0].shape[0]} if args.dynamic_batch else None
    _finish_export(scripted, args, "script", _source_file(module), dims=dims)


# ---- inspect -------------------------------------------------------------------------------------
def _format_shape(shape) -> str:
    return "?" if shape is None else "[" + ", ".join(str(d) for d in shape) + "]"


def _print_summary(info: dict) -> None:
    print(f"{info['path']}: .esm {info['format_version']}, {info['export_mode']}, by {info['producer']}, "
          f"created {info['created']}")
    if info["source_file"]:
        print(f"source: {info['source_file']} ({info['source_hash']})")
    for section in ("inputs", "outputs"):
        print(f"{section}:")
        for spec in info[section]:
            kind = spec["dtype"] + " " + _format_shape(spec["shape"]) if spec["dtype"] else spec["type"]
            print(f"  {spec['name']}: {kind}")
    print(f"parameters: {info['num_parameters']} ({info['parameter_bytes']} bytes)")
    planned_for = ", ".join(f"{name} {shape}" for name, shape in info["arena_shapes"].items())
    print(f"arena: {info['arena_bytes']} bytes" + (f" (planned for {planned_for})" if planned_for else ""))
    print("ops: " + ", ".join(f"{op} x{n}" for op, n in info["ops"].items()))
    for key, value in info["metadata"].items():
        print(f"metadata {key}: {value}")


def cmd_inspect(args) -> None:
    import export

    info = export.inspect(args.file)
    if args.json:
        if args.graph:
            info["graph"] = str(export.load(args.file).graph)
        print(json.dumps(info, indent=2))
        return
    _print_summary(info)
    if args.graph:
        print()
        print(export.load(args.file).graph, end="")


# ---- run -----------------------------------------------------------------------------------------
def _read_inputs(pairs: Sequence[str]) -> dict[str, np.ndarray]:
    named = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not name or not path:
            raise CLIError(f"--input {pair!r}: expected NAME=FILE.npy")
        if not Path(path).is_file():
            raise CLIError(f"--input {name}: no such file: {path}")
        named[name] = np.load(path, allow_pickle=False)
    return named


def _check_input(spec: dict, array: np.ndarray) -> None:
    """One line naming the input when the array cannot be the model's input `spec`."""
    if spec["dtype"] is None:
        return
    if array.dtype != dtypes.from_name(spec["dtype"]).np:
        raise CLIError(f"input {spec['name']}: dtype {array.dtype}, the model expects {spec['dtype']} "
                       f"(convert it with .astype('{spec['dtype']}'))")
    shape = spec["shape"]
    if shape is not None and (len(shape) != array.ndim or any(
            isinstance(want, int) and want != got for want, got in zip(shape, array.shape))):
        raise CLIError(f"input {spec['name']}: shape {list(array.shape)} does not match the model's "
                       f"{_format_shape(shape)}")


def _ordered_inputs(info: dict, named: dict[str, np.ndarray]) -> list[np.ndarray]:
    expected = [spec["name"] for spec in info["inputs"]]
    unknown = sorted(set(named) - set(expected))
    if unknown:
        raise CLIError(f"unknown input {unknown[0]!r}; the model's inputs are: {', '.join(expected)}")
    missing = [name for name in expected if name not in named]
    if missing:
        raise CLIError(f"missing input {missing[0]!r}; the model's inputs are: {', '.join(expected)}")
    for spec in info["inputs"]:
        _check_input(spec, named[spec["name"]])
    return [named[name] for name in expected]


def _run_python(path: str, arrays: list[np.ndarray]) -> list[np.ndarray]:
    import export

    module = export.load(path)
    # 0-d arrays given for int/float/bool inputs are passed as Python scalars.
    args = [eager.tensor(a) if isinstance(value.type, TensorType) else a.item()
            for a, value in zip(arrays, module.graph.inputs)]
    out = module(*args)
    return [np.asarray(o.numpy() if hasattr(o, "numpy") else o) for o in (out if isinstance(out, tuple) else (out,))]


def _run_c(path: str, arrays: list[np.ndarray]) -> list[np.ndarray]:
    try:
        from export import native
    except ImportError as exc:
        raise CLIError(f"--runtime c: the C runtime binding export.native is not available ({exc}); build "
                       "native_runtime (see its README) or use --runtime python") from None
    return list(native.load(path).run(*arrays))


def cmd_run(args) -> None:
    import export

    info = export.inspect(args.file)
    arrays = _ordered_inputs(info, _read_inputs(args.input))
    _progress(f"running {args.file} with the {args.runtime} runtime")
    outputs = (_run_c if args.runtime == "c" else _run_python)(args.file, arrays)
    out_dir = Path(args.output_dir) if args.output_dir else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    for spec, array in zip(info["outputs"], outputs):
        preview = np.array2string(array.reshape(-1)[:6], precision=4, separator=", ")
        print(f"{spec['name']}: {array.dtype} {list(array.shape)} {preview}{' ...' if array.size > 6 else ''}")
        if out_dir is not None:
            np.save(out_dir / f"{spec['name']}.npy", array)
    if out_dir is not None:
        _progress(f"wrote {len(outputs)} output(s) to {out_dir}/")


# ---- argument parsing ----------------------------------------------------------------------------
def _subparser(sub, name: str, help_text: str, fn) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=help_text, epilog=f"example:\n  {EXAMPLES[name]}",
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(fn=fn)
    return parser


def _export_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="MODULE:ATTR",
                        help="module name or .py file, and a module class, factory function or instance")
    parser.add_argument("--weights", metavar="CKPT", help="load a state dict saved with eager.save")
    parser.add_argument("--no-optimize", action="store_true", help="save the graph without jitscript.optimize")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.esm", help="the file to write")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `eagerscript` (all subcommands)."""
    parser = argparse.ArgumentParser(prog="eagerscript", description="Export eager models to .esm files and run them.")
    parser.add_argument("--traceback", action="store_true", help="show the full Python traceback on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    trace = _subparser(sub, "trace", "record one run of a model as a graph and save it as .esm", cmd_trace)
    _export_options(trace)
    trace.add_argument("--example-input", action="append", required=True, metavar="SHAPE[:DTYPE]",
                       help="one per model input, e.g. 1x3x32x32:float32 (random values)")
    trace.add_argument("--dynamic-batch", action="store_true", help="keep dim 0 symbolic (N)")
    script = _subparser(sub, "script", "compile a model's Python source to a graph and save it as .esm", cmd_script)
    _export_options(script)
    script.add_argument("--example-input", action="append", metavar="SHAPE[:DTYPE]",
                        help="optional, one per tensor input: fixes its dtype and shape (as jitscript.script's "
                             "example_inputs), which lets the compiler check shapes and plan memory")
    script.add_argument("--dynamic-batch", action="store_true",
                        help="keep dim 0 of the example inputs symbolic (N), so the file runs at any batch size")
    insp = _subparser(sub, "inspect", "summarize a .esm file", cmd_inspect)
    insp.add_argument("file", metavar="FILE.esm")
    insp.add_argument("--json", action="store_true", help="print the summary as JSON")
    insp.add_argument("--graph", action="store_true", help="also print the IR text")
    run = _subparser(sub, "run", "run a .esm file on inputs read from .npy files", cmd_run)
    run.add_argument("file", metavar="FILE.esm")
    run.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy", help="one per model input")
    run.add_argument("--runtime", choices=("python", "c"), default="python",
                     help="python: the IR interpreter; c: libesm through export.native")
    run.add_argument("--output-dir", metavar="DIR", help="write each output as DIR/<name>.npy")
    return parser


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"{category.__name__}: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `eagerscript` console script and `python -m export`."""
    args = build_parser().parse_args(argv)
    warnings.formatwarning = _one_line_warning
    try:
        args.fn(args)
    except Exception as exc:  # every failure becomes one line (the full traceback with --traceback)
        if args.traceback:
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        prefix = "" if isinstance(exc, CLIError) else f"{type(exc).__name__}: "
        print(f"eagerscript {args.command}: error: {prefix}{message}", file=sys.stderr)
        return 1
    return 0

"""Compile speed of `jitscript.script` on a transformer encoder layer, next to torch.jit.script.

The model is the test zoo's transformer (`tests/models/transformer.py`: an
`nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, activation="gelu",
batch_first=True)` and a pooled Linear head, eval mode), scripted with example inputs of shape
(4, 6, 16) and a dynamic batch; `--d-model 64 --heads 4 --ff 256` scripts a bare, larger encoder
layer instead. Reported, best of `--repeat` runs:
- parser: building the lark LALR parser from grammar.lark (once per process; lark caches its
  tables on disk, so this is the warm-cache figure);
- parse: reading and parsing the source of every function the layer calls (forward, the
  attention, the linear and norm layers, the composites they use);
- compile: lowering the parsed functions to the verified typed IR (parse cache warm);
- total: a first `jitscript.script` call in a process whose parser is built (parse + compile).
Target: total under 0.5 s. Run: python3 -m benchmarks.script_compile
"""
from __future__ import annotations

import argparse
import time

import eager
import jitscript
from jitscript import frontend


def best_of(repeat: int, run, before=None) -> float:
    best = float("inf")
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def model_and_inputs(d_model: int | None, heads: int, ff: int) -> tuple:
    """The zoo transformer (d_model None) or a bare encoder layer of the given sizes."""
    if d_model is None:
        from tests.models import transformer

        return transformer.build(), transformer.ENTRY.inputs(4)
    eager.manual_seed(0)
    layer = eager.nn.TransformerEncoderLayer(d_model, heads, ff, dropout=0.0, batch_first=True).eval()
    return layer, (eager.randn(4, 6, d_model),)


def torch_script_time(d_model: int, heads: int, ff: int, repeat: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    layer = torch.nn.TransformerEncoderLayer(d_model, heads, ff, dropout=0.0, batch_first=True).eval()
    return best_of(repeat, lambda: torch.jit.script(layer))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d-model", type=int, default=None, help="script a bare encoder layer of this width")
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ff", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    layer, example = model_and_inputs(args.d_model, args.heads, args.ff)

    def script():
        return jitscript.script(layer, example_inputs=example, dynamic_batch=True)

    parser_s = best_of(args.repeat, frontend.parser, before=frontend.parser.cache_clear)
    frontend.parser()
    total_s = best_of(args.repeat, script, before=frontend.clear_parse_cache)
    compile_s = best_of(args.repeat, script)
    scripted = script()
    nodes = sum(1 for _ in scripted.graph.nodes())
    error = (scripted(*example) - layer(*example)).abs().max().item()
    torch_s = torch_script_time(args.d_model or 16, args.heads if args.d_model else 2, args.ff if args.d_model
                                else 32, args.repeat)
    print(f"{type(layer).__name__} (zoo transformer)" if args.d_model is None else
          f"TransformerEncoderLayer(d_model={args.d_model}, nhead={args.heads}, dim_feedforward={args.ff})")
    print(f"  {nodes} IR nodes, max |script - eager| = {error:.2e}")
    print(f"  parser build (lark, warm disk cache): {parser_s * 1e3:8.1f} ms")
    print(f"  parse (source of all called functions): {(total_s - compile_s) * 1e3:6.1f} ms")
    print(f"  compile (lowering to verified IR):     {compile_s * 1e3:8.1f} ms")
    print(f"  total jitscript.script:                {total_s * 1e3:8.1f} ms  (target < 500 ms)")
    if torch_s is not None:
        print(f"  torch.jit.script (torch encoder layer): {torch_s * 1e3:7.1f} ms  "
              f"(ratio jitscript/torch {total_s / torch_s:.2f})")


if __name__ == "__main__":
    main()

"""Compile speed of `jitscript.script` on a transformer encoder layer, next to torch.jit.script.

The model is `eager.nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=256,
batch_first=True)` in eval mode (the zoo's encoder block), scripted with example inputs of shape
(8, 16, 64). Reported, best of `--repeat` runs:
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


def eager_layer(d_model: int, heads: int, ff: int):
    eager.manual_seed(0)
    return eager.nn.TransformerEncoderLayer(d_model, heads, ff, dropout=0.0, batch_first=True).eval()


def torch_script_time(d_model: int, heads: int, ff: int, repeat: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    layer = torch.nn.TransformerEncoderLayer(d_model, heads, ff, dropout=0.0, batch_first=True).eval()
    return best_of(repeat, lambda: torch.jit.script(layer))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ff", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    layer = eager_layer(args.d_model, args.heads, args.ff)
    example = (eager.randn(8, 16, args.d_model),)

    def script():
        return jitscript.script(layer, example_inputs=example)

    parser_s = best_of(args.repeat, frontend.parser, before=frontend.parser.cache_clear)
    frontend.parser()
    total_s = best_of(args.repeat, script, before=frontend.clear_parse_cache)
    compile_s = best_of(args.repeat, script)
    scripted = script()
    nodes = sum(1 for _ in scripted.graph.nodes())
    error = (scripted(*example) - layer(*example)).abs().max().item()
    torch_s = torch_script_time(args.d_model, args.heads, args.ff, args.repeat)
    print(f"TransformerEncoderLayer(d_model={args.d_model}, nhead={args.heads}, dim_feedforward={args.ff}): "
          f"{nodes} IR nodes, max |script - eager| = {error:.2e}")
    print(f"  parser build (lark, warm disk cache): {parser_s * 1e3:8.1f} ms")
    print(f"  parse (source of all called functions): {(total_s - compile_s) * 1e3:6.1f} ms")
    print(f"  compile (lowering to verified IR):     {compile_s * 1e3:8.1f} ms")
    print(f"  total jitscript.script:                {total_s * 1e3:8.1f} ms  (target < 500 ms)")
    if torch_s is not None:
        print(f"  torch.jit.script (same layer):         {torch_s * 1e3:8.1f} ms  "
              f"(ratio jitscript/torch {total_s / torch_s:.2f})")


if __name__ == "__main__":
    main()

"""Write the libFuzzer seed corpus, native_runtime/fuzz/seeds/: every zoo model exported as the
front-ends produce it (`NAME_trace.esm` from jitscript.trace, `NAME_script.esm` from
jitscript.script), each at most 32 KiB so mutations stay fast.

    python3 -m tests.native.make_fuzz_seeds

Seeded weights and SOURCE_DATE_EPOCH=0 make the files byte-reproducible: re-running this
changes nothing unless the exporter or the zoo changed (then commit the new seeds).
"""
from __future__ import annotations

import os
from pathlib import Path

import export
import jitscript
from tests.models import ZOO

SEED_DIR = Path(__file__).resolve().parents[2] / "native_runtime" / "fuzz" / "seeds"
MAX_SEED_BYTES = 32 << 10


def exports(entry):
    """(suffix, ScriptModule) for each front-end the zoo entry supports."""
    if entry.traceable:
        yield "trace", jitscript.optimize(jitscript.trace(entry.build(), entry.inputs(2), dynamic_batch=True))
    if entry.scriptable:
        yield "script", jitscript.script(entry.build(), entry.inputs(2), dynamic_batch=True)


def main() -> None:
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
    SEED_DIR.mkdir(parents=True, exist_ok=True)
    for old in SEED_DIR.glob("*.esm"):
        old.unlink()
    for entry in ZOO:
        if entry.missing_ops():
            continue
        for suffix, module in exports(entry):
            path = SEED_DIR / f"{entry.name}_{suffix}.esm"
            export.save(module, path)
            if path.stat().st_size > MAX_SEED_BYTES:
                path.unlink()
    print(f"wrote {sorted(p.name for p in SEED_DIR.glob('*.esm'))} to {SEED_DIR}")


if __name__ == "__main__":
    main()

"""export: the .esm model file (FlatBuffers schema, writer, reader) and the `eagerscript` command.

    export.save(script_module, "model.esm")   # one self-contained file, written atomically
    m = export.load("model.esm")              # a ScriptModule; weights mapped, not copied
    export.inspect("model.esm")               # a plain dict summary

The format is documented in docs/format.md; the schema is export/schema/esm.fbs.
"""
from export.format import FORMAT_VERSION, FormatError
from export.reader import inspect, load
from export.writer import save

__all__ = ["FORMAT_VERSION", "FormatError", "inspect", "load", "save"]

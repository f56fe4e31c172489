"""Checkpoints: `eager.save(obj, f)` / `eager.load(f)` without pickle.

A checkpoint is a zip archive holding `manifest.json` (the structure of the saved object,
with tensors replaced by references) and one `.npy` member per array. Loading parses JSON
and reads arrays with `allow_pickle=False`, so an untrusted file cannot run code. Saving to
a path is atomic: the archive is written to a temporary file in the same directory and moved
over the target with `os.replace`, so a crash mid-write leaves the previous file intact.

Savable values: tensors (and Parameters, which load back as tensors), NumPy arrays and
scalars, None, bool, int, float, str, and dicts (any of those keys), lists and tuples of them.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from collections import OrderedDict

import numpy as np

from . import dtypes as _dt
from .backend import device_of, normalize_device, to_device
from .tensor import Tensor

FORMAT = "eagerscript-checkpoint"
VERSION = 1
MANIFEST = "manifest.json"


class CheckpointError(RuntimeError):
    """A file that is not a readable eagerscript checkpoint (truncated, corrupt or foreign)."""


# ---- encoding ------------------------------------------------------------------------------------
class _Encoder:
    """Walks the object, replacing arrays by references and collecting the arrays."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self.seen: dict[int, int] = {}  # id(tensor) -> array index: shared tensors are stored once

    def _array(self, array, key: int) -> int:
        if key not in self.seen:
            self.seen[key] = len(self.arrays)
            self.arrays.append(to_device(array, "cpu"))
        return self.seen[key]

    def encode(self, obj, path: str):
        """The JSON-able form of `obj`; `path` names it in errors (e.g. "obj['model']")."""
        if isinstance(obj, Tensor):
            return {"$tensor": self._array(obj.data, id(obj)), "device": device_of(obj.data),
                    "requires_grad": bool(obj.requires_grad)}
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind in "OV":
                raise TypeError(f"eager.save: {path} is a NumPy array of dtype {obj.dtype}, which needs pickle")
            return {"$ndarray": self._array(obj, id(obj))}
        if isinstance(obj, np.generic):
            return {"$npscalar": self._array(np.asarray(obj), id(obj))}
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, (list, tuple)):
            items = [self.encode(v, f"{path}[{i}]") for i, v in enumerate(obj)]
            return {"$list": items} if isinstance(obj, list) else {"$tuple": items}
        if isinstance(obj, dict):
            tag = "$odict" if isinstance(obj, OrderedDict) else "$dict"
            return {tag: [[self.encode(k, f"{path} key {k!r}"), self.encode(v, f"{path}[{k!r}]")]
                          for k, v in obj.items()]}
        if isinstance(obj, _dt.DType):
            return {"$dtype": obj.name}
        raise TypeError(f"eager.save: cannot save {path} of type {type(obj).__name__}; checkpoints hold tensors, "
                        "arrays, numbers, strings, None, and dicts/lists/tuples of them")


def _write_archive(f, manifest: dict, arrays: list) -> None:
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(MANIFEST, json.dumps(manifest))
        for i, array in enumerate(arrays):
            with zf.open(f"arrays/{i}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def save(obj, f) -> None:
    """Write `obj` (e.g. {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3})
    to the path or binary file object `f`; a path is replaced atomically."""
    encoder = _Encoder()
    manifest = {"format": FORMAT, "version": VERSION, "root": encoder.encode(obj, "obj")}
    if not isinstance(f, (str, os.PathLike)):
        _write_archive(f, manifest, encoder.arrays)
        return
    path = os.fspath(f)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            _write_archive(out, manifest, encoder.arrays)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


# ---- decoding ------------------------------------------------------------------------------------
class _Decoder:
    def __init__(self, zf: zipfile.ZipFile, name: str, map_location) -> None:
        self.zf = zf
        self.name = name
        self.map_location = map_location
        self.cache: dict[int, np.ndarray] = {}
        self.tensors: dict[int, Tensor] = {}

    def _array(self, index: int) -> np.ndarray:
        if index not in self.cache:
            try:
                with self.zf.open(f"arrays/{index}.npy") as member:
                    self.cache[index] = np.lib.format.read_array(io.BytesIO(member.read()), allow_pickle=False)
            except KeyError:
                raise CheckpointError(f"{self.name}: array {index} named in the manifest is missing") from None
            except (ValueError, zipfile.BadZipFile, EOFError, OSError) as exc:
                raise CheckpointError(f"{self.name}: array {index} is corrupt ({exc})") from None
        return self.cache[index]

    def _tensor(self, node: dict) -> Tensor:
        index = node["$tensor"]
        if index not in self.tensors:
            device = node.get("device", "cpu")
            if self.map_location is not None:
                device = normalize_device(self.map_location)
            array = self._array(index)
            try:
                _dt.from_numpy(array.dtype)
            except TypeError:
                raise CheckpointError(f"{self.name}: array {index} has unsupported dtype {array.dtype}") from None
            t = Tensor._wrap(to_device(array, device))
            if node.get("requires_grad"):
                t.requires_grad_(True)
            self.tensors[index] = t
        return self.tensors[index]

    def decode(self, node):
        """The Python value of a manifest node."""
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list) or not isinstance(node, dict) or len(node) == 0:
            raise CheckpointError(f"{self.name}: malformed manifest entry {str(node)[:80]}")
        if "$tensor" in node:
            return self._tensor(node)
        if "$ndarray" in node:
            return self._array(node["$ndarray"])
        if "$npscalar" in node:
            return self._array(node["$npscalar"])[()]
        if "$list" in node:
            return [self.decode(v) for v in node["$list"]]
        if "$tuple" in node:
            return tuple(self.decode(v) for v in node["$tuple"])
        if "$dict" in node or "$odict" in node:
            pairs = [(self._key(k), self.decode(v)) for k, v in node.get("$dict", node.get("$odict"))]
            return OrderedDict(pairs) if "$odict" in node else dict(pairs)
        if "$dtype" in node:
            return _dt.from_name(node["$dtype"])
        raise CheckpointError(f"{self.name}: unknown manifest entry {sorted(node)}")

    def _key(self, node):
        key = self.decode(node)
        return tuple(key) if isinstance(key, list) else key


def load(f, map_location=None, weights_only: bool = True):
    """Read a checkpoint written by `eager.save` from a path or binary file object; tensors go
    to the device they were saved from, or to `map_location` ("cpu", "cuda") when given.
    Raises `CheckpointError` for a truncated, corrupt or foreign file."""
    name = os.fspath(f) if isinstance(f, (str, os.PathLike)) else "<file object>"
    try:
        zf = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:  # OSErrors (missing file, ...) pass through
        raise CheckpointError(f"{name}: not an eagerscript checkpoint (not a complete zip archive: {exc}); "
                              "the file may be truncated or come from another program") from None
    with zf:
        try:
            manifest = json.loads(zf.read(MANIFEST))
        except KeyError:
            raise CheckpointError(f"{name}: not an eagerscript checkpoint (no {MANIFEST}); a PyTorch .pt file "
                                  "or another zip archive cannot be loaded") from None
        except (ValueError, zipfile.BadZipFile, OSError) as exc:
            raise CheckpointError(f"{name}: the checkpoint manifest is corrupt ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise CheckpointError(f"{name}: not an eagerscript checkpoint (manifest format is "
                                  f"{manifest.get('format') if isinstance(manifest, dict) else None!r})")
        if manifest.get("version", 0) > VERSION:
            raise CheckpointError(f"{name}: checkpoint version {manifest['version']} is newer than this eager "
                                  f"({VERSION}); upgrade eagerscript")
        return _Decoder(zf, name, map_location).decode(manifest.get("root"))

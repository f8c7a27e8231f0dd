"""Host-side files of the tensor module: the char-level corpus and the checkpoint format.

The guest never opens a file: the host is told a corpus path and a checkpoint path
(`tensors.TensorConfig`) and serves them through `data_*` and `ckpt_*` calls.

Corpus: bytes, tokenized over a fixed vocabulary of 97 symbols, so that token ids mean the same
for every corpus and a checkpoint samples the same text whatever corpus trained it:
id 0 is tab, id 1 is newline, ids 2..96 are the printable ASCII bytes 32..126 in order. Every
other byte (carriage return, UTF-8 continuation bytes, ...) reads as `?`. The first 90% of the
tokens are the training split, the rest the validation split. With no corpus path, the corpus
is the project's own `.syn` sources (sorted by path, joined by newlines).

Checkpoint: the safetensors format, written and read here without the `safetensors` package:
an 8-byte little-endian header length N, N bytes of JSON header
(`{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
"__metadata__": {...}}`, padded with spaces to a multiple of 8), then the raw little-endian
float32 data of each tensor in C order.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

VOCAB_BYTES = bytes([9, 10, *range(32, 127)])
VOCAB_SIZE = len(VOCAB_BYTES)
UNKNOWN_BYTE = ord("?")
TRAIN_FRACTION = 0.9

_BYTE_TO_ID = np.full(256, VOCAB_BYTES.index(UNKNOWN_BYTE), dtype=np.int64)
_BYTE_TO_ID[list(VOCAB_BYTES)] = np.arange(VOCAB_SIZE)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The folders whose .syn files make the default corpus.
DEFAULT_CORPUS_DIRS = ("compiler", "stdlib", "examples", "tests", "bootstrap")


class DataError(Exception):
    """A corpus or checkpoint that cannot be used; the caller turns it into a trap."""


def encode(text: bytes) -> np.ndarray:
    """Token ids (int64) of a byte string."""
    return _BYTE_TO_ID[np.frombuffer(text, dtype=np.uint8)]


def decode(ids: np.ndarray) -> bytes:
    return bytes(VOCAB_BYTES[int(i)] for i in ids)


def default_corpus_files(root: Path = PROJECT_ROOT) -> list[Path]:
    files: list[Path] = []
    for folder in DEFAULT_CORPUS_DIRS:
        files.extend(p for p in (root / folder).rglob("*.syn") if p.is_file())
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def read_corpus(path: Path | None) -> bytes:
    if path is not None:
        try:
            return Path(path).read_bytes()
        except OSError as err:
            raise DataError(f"cannot read corpus {path}: {err.strerror or err}") from None
    parts = [p.read_bytes() for p in default_corpus_files()]
    return b"\n".join(parts)


class Corpus:
    """The token ids of a corpus, split into training and validation parts."""

    def __init__(self, text: bytes) -> None:
        ids = encode(text)
        cut = int(len(ids) * TRAIN_FRACTION)
        self.splits = (ids[:cut], ids[cut:])
        self.size = len(ids)

    def batch(self, rng: np.random.Generator, batch: int, context: int,
              split: int) -> tuple[np.ndarray, np.ndarray]:
        """`batch` windows of `context` tokens at random offsets, and the next-token targets."""
        ids = self.splits[split]
        if len(ids) <= context:
            raise DataError(f"the {('training', 'validation')[split]} split has {len(ids)} "
                            f"tokens, fewer than a window of {context} + 1")
        starts = rng.integers(0, len(ids) - context, size=batch)
        offsets = starts[:, None] + np.arange(context)[None, :]
        return ids[offsets].astype(np.float32), ids[offsets + 1].astype(np.float32)


# -- safetensors -----------------------------------------------------------------------------------

def save_safetensors(path: Path, tensors: dict[str, np.ndarray],
                     metadata: dict[str, str] | None = None) -> None:
    header: dict[str, object] = {}
    chunks: list[bytes] = []
    offset = 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = dict(metadata)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for chunk in chunks:
            out.write(chunk)
    tmp.replace(path)


def load_safetensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    try:
        blob = Path(path).read_bytes()
    except OSError as err:
        raise DataError(f"cannot read checkpoint {path}: {err.strerror or err}") from None
    try:
        (length,) = struct.unpack("<Q", blob[:8])
        header = json.loads(blob[8:8 + length])
        data = memoryview(blob)[8 + length:]
        metadata = header.pop("__metadata__", {}) or {}
        tensors = {}
        for name, info in header.items():
            if info["dtype"] != "F32":
                raise DataError(f"tensor {name!r} has dtype {info['dtype']}, expected F32")
            begin, end = info["data_offsets"]
            shape = tuple(int(n) for n in info["shape"])
            array = np.frombuffer(data[begin:end], dtype="<f4").astype(np.float32)
            tensors[name] = array.reshape(shape)
        return tensors, metadata
    except DataError:
        raise
    except (ValueError, KeyError, TypeError, struct.error) as err:
        raise DataError(f"{path} is not a valid safetensors file: {err}") from None

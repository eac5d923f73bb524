"""Reading user-given text files with errors that say what is wrong and what to do."""

from __future__ import annotations

from pathlib import Path

from lean_prover.data.errors import DataError

MAX_TEXT_FILE_BYTES = 64 * 1024 * 1024
"""Larger inputs are refused: no benchmark or Lean file comes near this size."""


def read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise DataError(f"{path}: is a directory, not a file")
        if size > MAX_TEXT_FILE_BYTES:
            raise DataError(
                f"{path}: {size / 2**20:.0f} MiB is larger than the {MAX_TEXT_FILE_BYTES // 2**20} MiB "
                "this tool reads; split the file"
            )
        return path.read_bytes()
    except FileNotFoundError as error:
        raise DataError(f"{path}: no such file") from error
    except PermissionError as error:
        raise DataError(f"{path}: not readable (permission denied)") from error
    except IsADirectoryError as error:
        raise DataError(f"{path}: is a directory, not a file") from error


def decode_utf8(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DataError(
            f"{where}:{line}: not UTF-8 text (byte {error.start}); save the file as UTF-8"
        ) from error


def read_text(path: Path) -> str:
    """The file's text, exactly (no newline translation), or a DataError."""
    return decode_utf8(read_bytes(path), str(path))

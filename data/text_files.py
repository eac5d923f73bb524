"""Files: user-given text read with errors that say what is wrong and what to do, and every
file we write written atomically."""

from __future__ import annotations

import os
import stat
import tempfile
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


def write_atomically(path: Path, content: str | bytes) -> None:
    """Write `content` (text as UTF-8, exactly: no newline translation) so that a crash or a
    kill leaves the old file or the new one, never half of one; readers never see a partial
    file. The parent folder is created; the file keeps its mode, or gets a new file's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False) as handle:
        try:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        except BaseException:
            handle.close()
            os.unlink(handle.name)
            raise
    os.chmod(handle.name, _mode_for(path))
    os.replace(handle.name, path)


def _mode_for(path: Path) -> int:
    """The mode the written file gets: the one it has (a user's own file under `prove
    --in-place` keeps its mode), else what `open()` would give a new file (0666 less the
    umask). A temporary file alone would be 0600."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read without changing it where Linux shows it (setting it to read
    it, the only portable way, would race with other threads creating files)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask

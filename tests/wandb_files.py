"""Reading a W&B offline run back from its files (`<run dir>/wandb/offline-run-*/run-<id>.wandb`).

wandb 0.31 keeps no Python reader of its transaction log (`wandb.sdk.internal.datastore` is gone, and
`wandb sync --view` needs a server), so `wandb_records` follows the LevelDB log format it writes and
parses each record with wandb's own protobuf classes.
"""

import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wandb.proto import wandb_internal_pb2

LOG_BLOCK = 32768
FULL, LAST = 1, 4


def wandb_records(path: Path) -> Iterator[wandb_internal_pb2.Record]:
    """The protobuf records of a W&B transaction log (`run-<id>.wandb`).

    wandb 0.31 keeps no Python reader (`wandb.sdk.internal.datastore` is gone), so this follows the
    LevelDB log format it writes: a 7-byte header (':W&B', magic 0xBEE1, version 0), then 32 KiB
    blocks of chunks `crc32(type + data), length, type (1 full, 2 first, 3 middle, 4 last), data`.
    """
    raw = path.read_bytes()
    assert struct.unpack("<4sHB", raw[:7]) == (b":W&B", 0xBEE1, 0)
    pos, pending = 7, b""
    while pos + 7 <= len(raw):
        if LOG_BLOCK - pos % LOG_BLOCK < 7:  # no room for a chunk header: the block's zero trailer
            pos += LOG_BLOCK - pos % LOG_BLOCK
            continue
        crc, length, kind = struct.unpack("<IHB", raw[pos : pos + 7])
        data = raw[pos + 7 : pos + 7 + length]
        assert zlib.crc32(data, zlib.crc32(bytes([kind]))) == crc, f"corrupt chunk at byte {pos} of {path}"
        pending, pos = pending + data, pos + 7 + length
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


@dataclass
class Artifact:
    """An artifact the run logged: its name, type, aliases, metadata, files ({path: digest}) and where each
    file is on this machine until `wandb sync` uploads it (`local`: the file itself, or wandb's staged copy)."""

    name: str
    type: str
    aliases: list[str]
    metadata: dict[str, Any]
    files: dict[str, str]
    local: dict[str, Path]


@dataclass
class OfflineRun:
    """What a W&B offline run holds: its folder, identity (`run`: name, group, job type, tags), final summary
    and config, history rows, logged artifacts in order, exit codes."""

    dir: Path
    run: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    exit_codes: list[int] = field(default_factory=list)


def apply_updates(target: dict[str, Any], message: Any) -> None:
    """Fold a summary or config record (`update` and `remove` items) into `target`."""
    for item in message.update:
        target[item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
    for item in message.remove:
        target.pop(item.key or "/".join(item.nested_key), None)


def read_offline_run(run_dir: Path) -> OfflineRun:
    """The one offline W&B run under `run_dir/wandb/`, read from its transaction log.

    wandb writes `files/wandb-summary.json` and `files/config.yaml` only when a run is synced, so
    offline the summary and config exist only as records of the log.
    """
    (folder,) = (run_dir / "wandb").glob("offline-run-*")
    (log,) = folder.glob("run-*.wandb")
    run = OfflineRun(folder)
    for record in wandb_records(log):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            r = record.run
            run.run = {"id": r.run_id, "name": r.display_name, "group": r.run_group, "job_type": r.job_type,
                       "tags": list(r.tags), "project": r.project}  # fmt: skip
            apply_updates(run.config, record.run.config)
        elif kind == "artifact":
            a = record.artifact
            files = {e.path: e.digest for e in a.manifest.contents}
            local = {e.path: Path(e.local_path) for e in a.manifest.contents}
            metadata = json.loads(a.metadata) if a.metadata else {}
            run.artifacts.append(Artifact(a.name, a.type, list(a.aliases), metadata, files, local))
        elif kind == "config":
            apply_updates(run.config, record.config)
        elif kind == "summary":
            apply_updates(run.summary, record.summary)
        elif kind == "history":
            run.history.append({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.history.item})
        elif kind == "exit":
            run.exit_codes.append(record.exit.exit_code)
    return run


def logged_table(run: OfflineRun, key: str) -> tuple[list[dict[str, Any]], Artifact]:
    """The rows of the `wandb.Table` logged as `key`, as dicts, and the run-table artifact that holds it.

    The table's whole JSON, with its image cells (`{"_type": "image-file", "path": ...}`), lives in that
    artifact (the copy under the run's `files/media/table/` names images only by type); an image cell's
    file is `artifact.local[cell["path"]]`.
    """
    (artifact,) = [a for a in run.artifacts if a.type == "run_table" and f"{key}.table.json" in a.files]
    table = json.loads(artifact.local[f"{key}.table.json"].read_text())
    return [dict(zip(table["columns"], row, strict=True)) for row in table["data"]], artifact


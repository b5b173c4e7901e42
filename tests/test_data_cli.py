"""`robot-rl data ...`: info, validate, repair, export, plot on small real stores in tmp_path."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numcodecs
import numpy as np
import pytest
import zarr

from robot_rl.data import cli
from robot_rl.data.export import flat_names
from robot_rl.data.layout import ATTR, META_KEYS, SOURCES
from robot_rl.data.plot import PLOT_WIDTH_PX, ROW_HEIGHT_PX, THUMB_PX, TITLE_PX, plot_episode, time_key
from robot_rl.data.spec import KeySpec
from robot_rl.data.store import EpisodeStore
from robot_rl.data.validate import summarize, validate_store

SPECS = {
    "image/front": KeySpec((16, 16, 3), "uint8", units="rgb", frame="front_color_optical_frame"),
    "state/ee_pos": KeySpec((3,), "float32", units="m", frame="base"),
    "action": KeySpec((4,), "float32", units="1", chunk_steps=8),  # several chunks on a small store
}
LENGTHS = (10, 7, 12)
SUCCESS = (True, None, False)
ROOT = Path(__file__).resolve().parents[1]


def steps(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"image/front": rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8),
            "state/ee_pos": rng.normal(size=(n, 3)).astype(np.float32),
            "action": rng.uniform(-1, 1, (n, 4)).astype(np.float32)}


def make_store(path: Path) -> dict[str, np.ndarray]:
    """Three committed episodes; returns the committed data, concatenated."""
    with EpisodeStore.create(path, SPECS, attrs={"rig": "sim"}) as store:
        for i, (n, success) in enumerate(zip(LENGTHS, SUCCESS, strict=True)):
            w = store.begin_episode("demo", task="push_t")
            w.extend(steps(n, seed=i))
            w.commit(success=success)
    return {k: np.concatenate([steps(n, i)[k] for i, n in enumerate(LENGTHS)]) for k in SPECS}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "store"
    make_store(path)
    return path


@pytest.fixture
def store(template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the three-episode store (copying is much faster than recording it again)."""
    shutil.copytree(template, tmp_path / "store", ignore=shutil.ignore_patterns(".writer.lock"))
    return tmp_path / "store"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """The real entry point, in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "robot_rl.cli", "data", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def write_tail_and_die(path: Path, n: int = 5) -> None:
    """A writer that streams `n` steps of a new episode and is killed before committing."""
    code = f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from robot_rl.data.store import EpisodeStore
        from test_data_cli import steps
        w = EpisodeStore.open({str(path)!r}, mode="a").begin_episode("online")
        w.extend(steps({n}, seed=99))
        os._exit(0)
    """
    subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=True, timeout=60)


def errors(path: Path, deep: bool = False) -> list[str]:
    return [p.message for p in validate_store(path, deep=deep) if p.severity == "error"]


# ---------------------------------------------------------------------------------------------- info
def test_info_text_reports_counts_keys_and_episodes(store: Path, capsys) -> None:
    assert cli.info(store=store) == 0
    out = capsys.readouterr().out
    assert re.search(r"episodes\s+3\s+steps 29\s+size on disk [\d.]+ (KiB|MiB)", out)
    assert re.search(r"image/front\s+\(16, 16, 3\)\s+uint8\s+rgb\s+front_color_optical_frame", out)
    assert re.search(r"state/ee_pos\s+\(3,\)\s+float32\s+m\s+base", out)
    row = r"^\s+(\d+)\s+(\d+)\s+(yes|no|unknown)\s+demo\s+\d{4}-\d\d-\d\dT[\d:]+Z\s+push_t$"
    rows = re.findall(row, out, re.M)
    assert rows == [("0", "10", "yes"), ("1", "7", "unknown"), ("2", "12", "no")]
    assert "writer    none" in out and "uncommitted tail: none" in out


def test_info_json(store: Path, capsys) -> None:
    assert cli.info(store=store, as_json=True) == 0
    s = json.loads(capsys.readouterr().out)
    assert (s["n_episodes"], s["n_steps"], s["writer_active"]) == (3, 29, False)
    assert [e["length"] for e in s["episodes"]] == list(LENGTHS)
    assert s["keys"]["image/front"]["shape"] == [16, 16, 3] and s["keys"]["state/ee_pos"]["units"] == "m"
    assert s["bytes_on_disk"] > 29 * 16 * 16 * 3 * 0.5  # random frames barely compress


def test_entry_point_info_and_one_line_errors(store: Path, tmp_path: Path) -> None:
    r = run_cli("info", "--store", str(store))
    assert r.returncode == 0, r.stderr
    assert re.search(r"episodes\s+3\s+steps 29", r.stdout)
    (tmp_path / "empty").mkdir()
    cases = [(tmp_path / "missing", "does not exist"), (tmp_path / "empty", "is not an EpisodeStore")]
    for path, expected in cases:
        r = run_cli("validate", "--store", str(path))
        assert r.returncode == 2
        assert r.stderr.startswith(f"robot-rl data validate: {path} ") and expected in r.stderr
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["info", "validate", "repair", "plot", "export"])
def test_wrong_schema_version_and_foreign_group(tmp_path: Path, store: Path, command: str, capsys) -> None:
    zarr.open_group(tmp_path / "foreign", mode="w").attrs["something"] = 1
    group = zarr.open_group(store, mode="r+")
    group.attrs[ATTR] = group.attrs[ATTR] | {"schema_version": 99}
    extra = {"plot": {"episode": 0, "out": tmp_path / "p.png"}, "export": {"out": tmp_path / "e.zarr"}}
    fn = cli.COMMANDS[command]
    assert fn(store=store, **extra.get(command, {})) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"robot-rl data {command}: {store} ") and "schema version 99" in err
    assert err.count("\n") == 1
    assert fn(store=tmp_path / "foreign", **extra.get(command, {})) == 2
    assert f"{tmp_path / 'foreign'} is a zarr group but not an EpisodeStore" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ validate
def test_validate_ok_on_good_store(store: Path, capsys) -> None:
    assert validate_store(store, deep=True) == []
    assert cli.validate(store=store, deep=True) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"OK: {store}: 3 episodes, 29 steps, 3 keys, every chunk decoded")


def test_uncommitted_tail_then_repair(store: Path, capsys) -> None:
    before = {k: EpisodeStore.open(store).array(k)[:] for k in SPECS}
    write_tail_and_die(store)
    assert cli.validate(store=store) == 1
    err = capsys.readouterr().err
    # arrays grow GROW_STEPS (64) rows ahead while recording: 29 committed steps + 35 rows of tail
    assert "uncommitted tail (data/image/front +35 steps" in err
    assert f"run `robot-rl data repair --store {store}`" in err

    tail = summarize(store)["uncommitted"]["steps"]
    assert tail["image/front"] == 35
    assert cli.repair(store=store) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"repaired {store}:"
    assert out[1:-1] == [f"  dropped {n} uncommitted steps of data/{k}" for k, n in tail.items()]
    assert out[-1] == "kept 3 committed episodes, 29 steps"
    assert validate_store(store, deep=True) == []
    after = EpisodeStore.open(store)
    for k in SPECS:
        np.testing.assert_array_equal(after.array(k)[:], before[k])
    assert cli.repair(store=store) == 0
    assert capsys.readouterr().out.startswith("nothing to repair: 3 committed episodes, 29 steps")


def test_in_flight_commit_entry_is_caught_and_repaired(store: Path, capsys) -> None:
    # a writer killed after writing the episode's metadata and growing episode_ends (the new entry
    # reads -1) but before setting the entry, the commit point
    group = zarr.open_group(store, mode="r+")
    for name in META_KEYS:
        group[f"meta/{name}"].resize((4,))
    group["meta/episode_ends"].resize((4,))
    assert group["meta/episode_ends"][-1] == -1
    meta_tail = ", ".join(f"meta/{m} +1 entries" for m in META_KEYS)
    assert errors(store) == [
        f"uncommitted tail (1 in-flight meta/episode_ends entry, {meta_tail}) and no writer holds the lock: "
        f"a writer was interrupted; run `robot-rl data repair --store {store}`"]
    assert cli.repair(store=store) == 0
    out = capsys.readouterr().out
    assert "dropped 1 in-flight meta/episode_ends entry" in out
    assert all(f"dropped 1 uncommitted entries of meta/{m}" in out for m in META_KEYS)
    assert errors(store) == []
    assert [m.length for m in EpisodeStore.open(store).all_meta()] == list(LENGTHS)


def test_live_writer_tail_is_reported_not_an_error(store: Path, capsys) -> None:
    with EpisodeStore.open(store, mode="a") as writer_store:
        w = writer_store.begin_episode("online")
        w.extend(steps(4, seed=5))  # one frame per chunk: every frame is already on disk
        assert cli.validate(store=store) == 0
        captured = capsys.readouterr()
        assert "NOTE: a writer holds the lock; its episode in flight: data/image/front +35 steps" \
            in captured.out
        assert cli.repair(store=store) == 1
        assert "refusing to repair a store that is being written" in capsys.readouterr().err
        assert cli.info(store=store) == 0
        assert "a writer holds the lock" in capsys.readouterr().out
        w.discard()


def test_deep_finds_corrupted_chunk(store: Path, capsys) -> None:
    (store / "data/image/front/c.13.0.0.0").write_bytes(b"\xde\xad\xbe\xef" * 64)
    assert errors(store) == []  # only reading the chunk can tell
    assert cli.validate(store=store, deep=True) == 1
    err = capsys.readouterr().err
    assert "ERROR: data/image/front: chunk 13 (steps 13..13) cannot be decoded" in err
    assert len(re.findall("cannot be decoded", err)) == 1


def test_deep_warns_about_non_finite_floats(store: Path) -> None:
    zarr.open_group(store, mode="r+")["data/state/ee_pos"][20, 1] = np.nan
    problems = validate_store(store, deep=True)
    assert [(p.severity, p.message) for p in problems] == [
        ("warning", "data/state/ee_pos: 1 non-finite values in steps 20..20")]


def test_wrong_dtype_array_swapped_in(store: Path) -> None:
    group = zarr.open_group(store, mode="r+")
    data = group["data/state/ee_pos"][:]
    del group["data/state/ee_pos"]
    group.create_array("data/state/ee_pos", data=data.astype(np.float64))
    assert errors(store) == ["data/state/ee_pos has per-step shape (3,) dtype float64; the schema declares "
                             "per-step shape (3,) dtype float32"]


def test_extra_array_under_data(store: Path) -> None:
    zarr.open_group(store, mode="r+").create_array("data/state/joint_pos", shape=(29, 7), dtype="float32")
    assert errors(store) == ["data/state/joint_pos is not in the schema (keys: ['action', 'image/front', "
                             "'state/ee_pos'])"]


def test_episode_ends_not_increasing(store: Path) -> None:
    zarr.open_group(store, mode="r+")["meta/episode_ends"][:] = [10, 8, 29]
    assert errors(store) == [
        "meta/episode_ends must be strictly increasing and positive; entry 1 is 8 after 10"]


def test_bad_metadata_values(store: Path) -> None:
    group = zarr.open_group(store, mode="r+")
    group["meta/episode_success"][1] = 7
    group["meta/episode_source"][2] = "dream"
    group["meta/episode_info"][0] = "[1, 2]"
    assert errors(store) == ["meta/episode_success must be -1, 0 or 1; episodes 1 hold 7",
                             f"meta/episode_source must be one of {SOURCES}; episodes 2 hold dream",
                             "meta/episode_info[0] is not a JSON object: '[1, 2]'"]


# -------------------------------------------------------------------------------------------- export
def test_flat_names() -> None:
    assert flat_names(["image/front", "state/ee_pos", "action"]) == {
        "image/front": "front", "state/ee_pos": "ee_pos", "action": "action"}
    assert flat_names(["image/front", "depth/front", "time"]) == {
        "image/front": "image_front", "depth/front": "depth_front", "time": "time"}
    with pytest.raises(ValueError, match="all map to the flat name"):
        flat_names(["a/b_c", "a_b/c", "b/c"])  # a/b_c and b/c → b_c


def _read_v2(array_dir: Path) -> np.ndarray:
    """Decode a zarr v2 array from its files with numcodecs, independently of zarr-python."""
    meta = json.loads((array_dir / ".zarray").read_text())
    assert meta["zarr_format"] == 2 and meta["order"] == "C" and meta["filters"] is None
    assert meta["compressor"]["id"] == "blosc"
    codec = numcodecs.get_codec(meta["compressor"])
    shape, chunks, sep = meta["shape"], meta["chunks"], meta.get("dimension_separator", ".")
    out = np.full(shape, meta["fill_value"], dtype=np.dtype(meta["dtype"]))
    for i in range(-(-shape[0] // chunks[0])):
        f = array_dir / sep.join([str(i)] + ["0"] * (len(shape) - 1))
        if f.exists():  # absent chunk = fill value
            block = np.frombuffer(codec.decode(f.read_bytes()), dtype=out.dtype).reshape(chunks)
            n = min(chunks[0], shape[0] - i * chunks[0])
            out[i * chunks[0]: i * chunks[0] + n] = block[:n]
    return out


def test_export_round_trip(store: Path, tmp_path: Path, capsys) -> None:
    data = {k: EpisodeStore.open(store).array(k)[:] for k in SPECS}
    write_tail_and_die(store)  # the uncommitted tail must not be exported
    out = tmp_path / "dp.zarr"
    assert cli.export(store=store, out=out) == 0
    printed = capsys.readouterr().out
    assert re.search(r"image/front\s+-> data/front", printed)
    assert re.search(r"state/ee_pos\s+-> data/ee_pos", printed)
    names = {"image/front": "front", "state/ee_pos": "ee_pos", "action": "action"}

    assert json.loads((out / ".zgroup").read_text()) == {"zarr_format": 2}
    assert not (out / "zarr.json").exists()
    assert sorted(p.name for p in (out / "data").iterdir() if p.is_dir()) == sorted(names.values())
    for key, name in names.items():
        meta = json.loads((out / "data" / name / ".zarray").read_text())
        assert meta["dtype"] == np.dtype(SPECS[key].dtype).str
        assert meta["chunks"] == ([1, 16, 16, 3] if key == "image/front" else [29, *SPECS[key].shape])
        np.testing.assert_array_equal(_read_v2(out / "data" / name), data[key])
    ends = _read_v2(out / "meta/episode_ends")
    assert ends.dtype == np.int64 and ends.tolist() == list(np.cumsum(LENGTHS))

    back = zarr.open_group(out, mode="r")
    assert back.metadata.zarr_format == 2
    assert back["meta/episode_ends"][:].tolist() == [10, 17, 29]
    for key, name in names.items():
        np.testing.assert_array_equal(back[f"data/{name}"][:], data[key])


def test_export_key_subset_and_refusals(store: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "sub.zarr"
    assert cli.export(store=store, out=out, keys=("action",)) == 0
    assert sorted(zarr.open_group(out, mode="r")["data"].array_keys()) == ["action"]
    stamp = (out / ".zgroup").stat().st_mtime_ns
    capsys.readouterr()
    assert cli.export(store=store, out=out) == 2
    assert "already exists" in capsys.readouterr().err
    assert (out / ".zgroup").stat().st_mtime_ns == stamp
    assert cli.export(store=store, out=tmp_path / "x.zarr", keys=("nope",)) == 2
    assert "keys ['nope'] are not in" in capsys.readouterr().err
    assert not (tmp_path / "x.zarr").exists()


# ---------------------------------------------------------------------------------------------- plot
def test_plot_writes_two_pngs(store: Path, tmp_path: Path, capsys) -> None:
    import matplotlib.image

    out = tmp_path / "plots" / "ep2.png"
    assert cli.plot(store=store, episode=2, out=out) == 0
    frames = tmp_path / "plots" / "ep2_frames.png"
    assert capsys.readouterr().out.split() == ["wrote", str(out), "wrote", str(frames)]
    lowdim = matplotlib.image.imread(out)
    assert lowdim.shape[:2] == (2 * ROW_HEIGHT_PX, PLOT_WIDTH_PX)  # state/ee_pos and action
    sheet = matplotlib.image.imread(frames)
    assert sheet.shape[:2] == (THUMB_PX + TITLE_PX, 8 * THUMB_PX)  # 12 steps → 8 frames, one camera
    assert lowdim.std() > 0.01 and sheet.std() > 0.01  # not blank


def test_plot_uses_time_key_as_x(tmp_path: Path) -> None:
    specs = {"time": KeySpec((), "float64", units="s"), "state/q": KeySpec((2,), "float32", units="rad")}
    assert time_key(specs) == "time" and time_key(SPECS) is None
    with EpisodeStore.create(tmp_path / "t", specs) as s:
        w = s.begin_episode("demo")
        w.extend({"time": 1e9 + np.arange(5) / 10, "state/q": np.zeros((5, 2), np.float32)})
        w.commit()
    assert plot_episode(tmp_path / "t", 0, tmp_path / "t.png") == [tmp_path / "t.png"]  # no camera: one PNG
    import matplotlib.image

    # one subplot: time is the x axis, not plotted itself
    assert matplotlib.image.imread(tmp_path / "t.png").shape[:2] == (ROW_HEIGHT_PX, PLOT_WIDTH_PX)


def test_plot_episode_out_of_range(store: Path, tmp_path: Path, capsys) -> None:
    assert cli.plot(store=store, episode=3, out=tmp_path / "p.png") == 2
    assert capsys.readouterr().err == "robot-rl data plot: episode 3 out of range; the store has 3 episodes\n"
    assert not (tmp_path / "p.png").exists()

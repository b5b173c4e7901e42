"""EpisodeStore: round trips, metadata, readers beside a writer, schema checks, clear errors."""

import json

import numpy as np
import pytest
import zarr

from robot_rl.data.errors import (
    NotAStoreError,
    SchemaMismatchError,
    SchemaVersionError,
    StoreLockedError,
)
from robot_rl.data.spec import SUPPORTED_DTYPES, KeySpec
from robot_rl.data.store import EpisodeStore

SHAPES = [(), (3,), (2, 5), (6, 5, 3)]


def _values(dtype: str, shape: tuple, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random((n, *shape)) > 0.5
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else np.finfo(dtype)
    if np.dtype(dtype).kind in "iu":
        return rng.integers(info.min, info.max, (n, *shape), dtype=dtype, endpoint=True)
    return (rng.standard_normal((n, *shape)) * 1e3).astype(dtype)


@pytest.mark.parametrize("dtype", SUPPORTED_DTYPES)
def test_round_trip_every_dtype_and_shape(tmp_path, dtype):
    # chunk_steps=4 with episodes of 5, 3 and 9 steps: episodes start mid-chunk and span several
    # chunks, so both the whole-chunk fast path and zarr's merge of a shared chunk are exercised
    specs = {f"k{i}": KeySpec(shape=s, dtype=dtype, chunk_steps=4) for i, s in enumerate(SHAPES)}
    specs["default_layout"] = KeySpec(shape=(7,), dtype=dtype)
    lengths = [5, 3, 9]
    written = []
    with EpisodeStore.create(tmp_path / "s", specs) as store:
        for e, n in enumerate(lengths):
            ep = {k: _values(dtype, s.shape, n, seed=100 * e + j) for j, (k, s) in enumerate(specs.items())}
            w = store.begin_episode(source="demo", task="t")
            for t in range(n):  # mix per-step appends and a bulk extend
                if t < 2:
                    w.append({k: v[t] for k, v in ep.items()})
            w.extend({k: v[2:] for k, v in ep.items()})
            assert w.commit(success=e % 2 == 0) == e
            written.append(ep)
    store = EpisodeStore.open(tmp_path / "s")
    assert store.n_episodes == 3 and list(store.episode_ends) == [5, 8, 17]
    for e, ep in enumerate(written):
        got = store.read_episode(e)
        for k, v in ep.items():
            assert got[k].dtype == v.dtype and got[k].shape == v.shape
            assert got[k].tobytes() == v.tobytes(), f"episode {e} key {k}"


def test_metadata_and_attrs(tmp_path):
    specs = {"state/q": KeySpec((7,), "float32", units="rad", frame="base")}
    store = EpisodeStore.create(tmp_path / "s", specs, attrs={"rig": "sim", "task": {"name": "pick_cube"}})
    w = store.begin_episode(source="intervention", operator="ada")
    w.extend({"state/q": np.zeros((4, 7), np.float32)})
    w.commit(success=None, notes="bumped the table")
    w = store.begin_episode(source="online")
    w.append({"state/q": np.ones(7)})  # float64 input is cast to the spec's float32
    w.commit(success=True)
    store.close()
    store = EpisodeStore.open(tmp_path / "s")
    m0, m1 = store.all_meta()
    assert (m0.source, m0.success, m0.length) == ("intervention", -1, 4)
    assert m0.info == {"operator": "ada", "notes": "bumped the table"}
    assert (m1.source, m1.success, m1.length) == ("online", 1, 1)
    assert m0.start_time <= m1.start_time
    assert store.episode_meta(-1) == m1
    assert store.attrs == {"rig": "sim", "task": {"name": "pick_cube"}}
    assert store.specs["state/q"].units == "rad" and store.specs["state/q"].frame == "base"


def test_schema_mismatch_is_rejected_and_loses_nothing(tmp_path):
    specs = {"a": KeySpec((3,), "float32"), "img": KeySpec((4, 4, 3), "uint8")}
    store = EpisodeStore.create(tmp_path / "s", specs)
    w = store.begin_episode()
    w.append({"a": np.zeros(3), "img": np.zeros((4, 4, 3), np.uint8)})
    with pytest.raises(SchemaMismatchError, match="missing \\['img'\\]"):
        w.append({"a": np.zeros(3)})
    with pytest.raises(SchemaMismatchError, match="expected shape \\(3,\\)"):
        w.append({"a": np.zeros(4), "img": np.zeros((4, 4, 3), np.uint8)})
    with pytest.raises(SchemaMismatchError, match="dtype"):
        w.append({"a": np.zeros(3), "img": np.zeros((4, 4, 3), np.float32)})
    w.append({"a": np.ones(3), "img": np.ones((4, 4, 3), np.uint8)})
    w.commit()
    assert store.n_steps == 2
    np.testing.assert_array_equal(store.read_episode(0)["a"], [[0, 0, 0], [1, 1, 1]])
    store.close()
    with pytest.raises(SchemaMismatchError):
        EpisodeStore.create(tmp_path / "s", {"a": KeySpec((4,), "float32")}, exist_ok=True)


def test_discard_and_empty_commit(tmp_path):
    store = EpisodeStore.create(tmp_path / "s", {"x": KeySpec((2,), "int32", chunk_steps=3)})
    w = store.begin_episode()
    w.extend({"x": np.arange(10, dtype=np.int32).reshape(5, 2)})
    w.commit()
    w = store.begin_episode()
    w.extend({"x": np.full((7, 2), 9, np.int32)})
    w.discard()
    assert store.array("x").shape[0] == 5
    w = store.begin_episode()
    with pytest.raises(ValueError, match="no steps"):
        w.commit()
    w.extend({"x": np.full((2, 2), 4, np.int32)})
    w.commit()
    np.testing.assert_array_equal(store.read_episode(1)["x"], np.full((2, 2), 4))
    np.testing.assert_array_equal(store.read_episode(0)["x"], np.arange(10).reshape(5, 2))


def test_reader_sees_only_committed_episodes_while_writer_appends(tmp_path):
    specs = {"x": KeySpec((3,), "float32", chunk_steps=8), "img": KeySpec((8, 8, 3), "uint8")}
    writer = EpisodeStore.create(tmp_path / "s", specs)
    w = writer.begin_episode()
    w.extend({"x": np.ones((20, 3)), "img": np.ones((20, 8, 8, 3), np.uint8)})
    w.commit()
    reader = EpisodeStore.open(tmp_path / "s")
    w = writer.begin_episode()
    w.extend({"x": np.full((30, 3), 2.0), "img": np.full((30, 8, 8, 3), 2, np.uint8)})
    reader.refresh()  # the in-flight steps are on disk past the committed end, but not visible
    assert reader.n_episodes == 1 and reader.n_steps == 20
    np.testing.assert_array_equal(reader.read_episode(0)["x"], np.ones((20, 3)))
    w.commit()
    assert reader.n_episodes == 1  # until refreshed
    reader.refresh()
    assert reader.n_episodes == 2
    np.testing.assert_array_equal(reader.read_episode(1)["img"], np.full((30, 8, 8, 3), 2))
    with pytest.raises(PermissionError):
        reader.begin_episode()


def test_single_writer_lock(tmp_path):
    store = EpisodeStore.create(tmp_path / "s", {"x": KeySpec((1,), "float32")})
    with pytest.raises(StoreLockedError, match="open for writing by another writer"):
        EpisodeStore.open(tmp_path / "s", mode="a")
    store.close()
    EpisodeStore.open(tmp_path / "s", mode="a").close()


def test_not_a_store_errors_say_what_was_found(tmp_path):
    with pytest.raises(NotAStoreError, match="does not exist"):
        EpisodeStore.open(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("hello")
    with pytest.raises(NotAStoreError, match="found no zarr.json"):
        EpisodeStore.open(tmp_path / "plain")
    zarr.open_group(tmp_path / "v2", mode="w", zarr_format=2)
    with pytest.raises(NotAStoreError, match="zarr v2 group"):
        EpisodeStore.open(tmp_path / "v2")
    g = zarr.open_group(tmp_path / "foreign", mode="w")
    g.attrs["made_by"] = "someone else"
    with pytest.raises(NotAStoreError, match="not an EpisodeStore.*made_by"):
        EpisodeStore.open(tmp_path / "foreign")
    (tmp_path / "garbage").mkdir()
    (tmp_path / "garbage" / "zarr.json").write_text("{not json")
    with pytest.raises(NotAStoreError, match="not a readable zarr group"):
        EpisodeStore.open(tmp_path / "garbage")


def test_other_schema_version_is_refused(tmp_path):
    EpisodeStore.create(tmp_path / "s", {"x": KeySpec((1,), "float32")}).close()
    meta_path = tmp_path / "s" / "zarr.json"
    meta = json.loads(meta_path.read_text())
    meta["attributes"]["robot_rl_store"]["schema_version"] = 99
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(SchemaVersionError, match="version 99; this robot_rl reads version 1"):
        EpisodeStore.open(tmp_path / "s")


def test_bad_specs_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not supported"):
        KeySpec((3,), "complex64")
    with pytest.raises(ValueError, match="positive"):
        KeySpec((0, 3), "float32")
    (tmp_path / "occupied").mkdir()
    (tmp_path / "occupied" / "f").write_text("x")
    with pytest.raises(FileExistsError):
        EpisodeStore.create(tmp_path / "occupied", {"x": KeySpec((1,), "float32")})

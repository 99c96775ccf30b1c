"""Image ensembles on a dask.distributed cluster: the same bytes as the threaded scheduler."""

from __future__ import annotations

import pytest

from hrtem.cluster import compute, scheduler_of
from hrtem.errors import HrtemError
from hrtem.simulate.ensemble import image_ensemble

distributed = pytest.importorskip("distributed")

from test_ensemble import _run, _tree, _waves, sections  # noqa: E402,F401  (shared fixture and helpers)


@pytest.fixture(scope="module")
def local_cluster():
    """Two worker processes of one thread each (tasks and their closures are pickled)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, memory_limit="1GiB") as cluster:
        yield cluster


@pytest.mark.slow
def test_local_cluster_writes_the_same_bytes_as_threads(tmp_path, sections, local_cluster):  # noqa: F811
    threaded = _tree(_run(tmp_path, "threads", sections, threads=2))
    microscope, detector = sections

    path = tmp_path / "cluster.zarr"
    with distributed.Client(local_cluster) as client:
        before = sum(client.run(lambda dask_worker: dask_worker.state.executed_count).values())
        image_ensemble(
            _waves(), path, microscope=microscope, detector=detector, doses_e_per_a2=[100.0, 1000.0],
            samples=5, defocus_a=[50.0, 85.0], seed=7, keys=("test_ensemble",), samples_per_block=2,
            dask_cluster={"scheduler": local_cluster.scheduler_address},
        )
        counts = client.run(lambda dask_worker: dask_worker.state.executed_count)
    on_cluster = _tree(path)
    assert on_cluster.keys() == threaded.keys()
    for key in threaded:
        assert on_cluster[key] == threaded[key], key
    # the tasks ran on the cluster's worker processes: 2·2 camera + 2·2 noise-free + 2·2·2·3 noise tasks
    assert sum(counts.values()) - before >= 4 + 4 + 24
    assert len(counts) == 2


def test_scheduler_names_are_checked():
    assert scheduler_of(None) is None and scheduler_of({"scheduler": "threads"}) is None
    assert scheduler_of({"scheduler": "tcp://127.0.0.1:8786"}) == "tcp://127.0.0.1:8786"
    with pytest.raises(HrtemError, match="dask.scheduler"):
        scheduler_of({"scheduler": "127.0.0.1:8786"})


def test_unreachable_scheduler_is_one_clear_error():
    import dask

    with pytest.raises(HrtemError, match="cannot connect"):
        compute([dask.delayed(int)(1)], dask={"scheduler": "tcp://127.0.0.1:9", "connect_timeout_s": 2})


@pytest.mark.slow
def test_noise_cli_with_a_scheduler_address_matches_threads(tmp_path, sections, local_cluster):  # noqa: F811
    """``hrtem noise --scheduler ADDRESS`` runs on the cluster; same bytes as ``--threads 2``."""
    from hrtem.cli import main
    from hrtem.io import write_dataset
    from hrtem.simulate.ensemble import lens_images

    write_dataset(lens_images(_waves(n_tilt=1), sections[0]), tmp_path / "image.zarr")
    common = ["noise", str(tmp_path / "image.zarr"), "--dose", "100", "1000", "--samples", "4",
              "--samples-per-block", "2", "--sampling-a", "0.2", "--seed", "3"]
    assert main([*common, "--threads", "2", "-o", str(tmp_path / "threads.zarr")]) == 0
    assert main([*common, "--scheduler", local_cluster.scheduler_address, "-o", str(tmp_path / "cluster.zarr")]) == 0
    threaded, on_cluster = _tree(tmp_path / "threads.zarr"), _tree(tmp_path / "cluster.zarr")
    assert threaded.keys() == on_cluster.keys() and len([k for k in threaded if k.startswith("image/c/")]) == 4
    for key in threaded:
        assert on_cluster[key] == threaded[key], key


def test_a_bad_scheduler_on_the_command_line_is_one_line_naming_the_key(tmp_path, capsys):
    from hrtem.cli import main
    from hrtem.io import write_dataset

    write_dataset(_waves(n_tilt=1, shape=(32, 32)).isel(tilt=0), tmp_path / "waves.zarr")
    code = main(["simulate", "ensemble", str(tmp_path / "waves.zarr"), "--dose", "100",
                 "--scheduler", "node17:8786", "-o", str(tmp_path / "out.zarr")])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "dask.scheduler" in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "out.zarr").exists()

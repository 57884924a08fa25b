"""FITS → Zarr ingest: values, headers and WCS round-trip; bad input leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from wisehub.ingest import IngestError, ingest_fits, open_fits_stack
from wisehub.samples import make_ccd_fits
from wisehub.storage.zarrio import write_zarr


@pytest.fixture(scope="module")
def fits_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return make_ccd_fits(tmp_path_factory.mktemp("fits"), size=48, nights=2, chips=2)


def _leftovers(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if "partial" in p.name or p.suffix == ".zarr"]


def test_values_headers_and_wcs_round_trip(fits_files: list[Path], tmp_path: Path) -> None:
    ds = ingest_fits(fits_files, str(tmp_path / "raw.zarr"))
    assert ds.data.dims == ("frame", "y", "x")
    assert ds.sizes["frame"] == len(fits_files)
    assert ds.data.dtype == np.uint16
    assert ds.data.chunks is not None  # lazy, dask-backed
    for path in fits_files[::7]:
        header = fits.getheader(path)
        frame = header["FRAMEID"]
        np.testing.assert_array_equal(ds.data.sel(frame=frame).values, fits.getdata(path))
        for key in (
            "IMAGETYP",
            "FILTER",
            "CHIP",
            "EXPTIME",
            "MJD-OBS",
            "DATE-OBS",
            "GAIN",
            "RDNOISE",
            "BIASSEC",
            "OBJECT",
            "NIGHT",
        ):
            assert ds[key].sel(frame=frame).item() == header[key], key
        index = int(np.flatnonzero(ds.frame.values == frame)[0])
        original, kept = WCS(header), ds["data"].wise.frame_wcs(index)
        np.testing.assert_allclose(
            kept.pixel_to_world_values([0, 40], [0, 30]),
            original.pixel_to_world_values([0, 40], [0, 30]),
            rtol=1e-12,
        )


def test_frames_are_grouped_for_reductions(fits_files: list[Path]) -> None:
    ds = open_fits_stack(list(reversed(fits_files)))
    keys = list(zip(ds.NIGHT.values, ds.CHIP.values, ds.IMAGETYP.values, strict=True))
    assert keys == sorted(keys)


def test_chunks_tile_space_over_many_frames(fits_files: list[Path]) -> None:
    ds = open_fits_stack(fits_files, chunks=(16, 16, 64))
    assert ds.data.chunks[0][0] == 16 and ds.data.chunks[1][0] == 16
    by_id = {fits.getval(p, "FRAMEID"): p for p in fits_files}
    for index in (3, 20, len(fits_files) - 1):
        np.testing.assert_array_equal(
            ds.data[index].values, fits.getdata(by_id[ds.frame.values[index]])
        )


def test_truncated_file_is_refused_before_writing(fits_files: list[Path], tmp_path: Path) -> None:
    broken = tmp_path / "broken.fits"
    broken.write_bytes(fits_files[0].read_bytes()[:-3000])  # cut inside the pixel data
    with pytest.raises(IngestError, match=r"broken.fits: truncated.*copy the file again"):
        ingest_fits([*fits_files[:3], broken], str(tmp_path / "out.zarr"))
    broken.write_bytes(fits_files[0].read_bytes()[:1000])  # cut inside the header
    with pytest.raises(IngestError, match=r"broken.fits: not a readable FITS file"):
        ingest_fits([*fits_files[:3], broken], str(tmp_path / "out.zarr"))
    assert _leftovers(tmp_path) == []


def test_missing_keyword_is_named(fits_files: list[Path], tmp_path: Path) -> None:
    lacking = tmp_path / "lacking.fits"
    with fits.open(fits_files[0]) as hdul:
        del hdul[0].header["EXPTIME"]
        hdul.writeto(lacking)
    with pytest.raises(IngestError, match="lacking.fits: missing required header keyword.*EXPTIME"):
        ingest_fits([lacking], str(tmp_path / "out.zarr"))
    assert _leftovers(tmp_path) == []


def test_not_fits_and_mismatched_shapes(fits_files: list[Path], tmp_path: Path) -> None:
    text = tmp_path / "notes.fits"
    text.write_text("hello")
    with pytest.raises(IngestError, match="notes.fits: not a readable FITS file"):
        open_fits_stack([text])
    other = make_ccd_fits(tmp_path / "other", size=40, nights=1, chips=1)
    with pytest.raises(IngestError, match="differs from"):
        open_fits_stack([fits_files[0], other[0]])
    with pytest.raises(IngestError, match="no FITS files"):
        open_fits_stack([])


def test_failure_mid_write_leaves_no_store(fits_files: list[Path], tmp_path: Path) -> None:
    copies = []
    for path in fits_files[:20]:
        copies.append(tmp_path / path.name)
        copies[-1].write_bytes(path.read_bytes())
    ds = open_fits_stack(copies, chunks=(4, 48, 64))  # headers fine, pixels read later
    copies[-1].write_bytes(b"")  # the file vanishes before its pixels are read
    with pytest.raises(IngestError, match="cannot read pixels"):
        write_zarr(ds, str(tmp_path / "raw.zarr"))
    assert _leftovers(tmp_path) == []


def test_existing_store_is_not_overwritten(fits_files: list[Path], tmp_path: Path) -> None:
    store = str(tmp_path / "raw.zarr")
    ingest_fits(fits_files[:2], store)
    with pytest.raises(IngestError, match="already exists"):
        ingest_fits(fits_files[2:4], store)
    assert ingest_fits(fits_files[2:5], store, overwrite=True).sizes["frame"] == 3


def test_failed_overwrite_keeps_the_old_store(fits_files: list[Path], tmp_path: Path) -> None:
    """Before, --overwrite deleted the old store first, so a failed ingest lost it."""
    from wisehub.ingest import write_ingested
    from wisehub.storage.zarrio import open_zarr

    store = str(tmp_path / "raw.zarr")
    ingest_fits(fits_files[:3], store)
    before = open_zarr(store)["data"].values.copy()
    copies = []
    for path in fits_files[3:9]:
        copies.append(tmp_path / path.name)
        copies[-1].write_bytes(path.read_bytes())
    ds = open_fits_stack(copies, chunks=(2, 48, 64))
    copies[-1].write_bytes(b"")  # the file vanishes before its pixels are read
    with pytest.raises(IngestError, match="cannot read pixels"):
        write_ingested(ds, store, overwrite=True)
    np.testing.assert_array_equal(open_zarr(store)["data"].values, before)
    assert sorted(p.name for p in tmp_path.iterdir() if ".zarr" in p.name) == ["raw.zarr"]


def test_raw_frames_carry_their_fits_files_checksums(fits_files: list[Path],
                                                    tmp_path: Path) -> None:
    import hashlib

    from wisehub.lineage import Context, LineageStore
    from wisehub.pipelines.ccd import register_raw

    store = str(tmp_path / "raw.zarr")
    ingest_fits(fits_files[:4], store)
    lineage = LineageStore(f"sqlite:///{tmp_path / 'l.sqlite'}", Context("ada"))
    assert register_raw(lineage, store) == 4
    expected = {fits.getheader(p)["FRAMEID"]: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in fits_files[:4]}
    frames = lineage.select("RawFrame", ())
    assert {f.name: f.checksum for f in frames} == {
        name: f"sha256:{digest}" for name, digest in expected.items()}

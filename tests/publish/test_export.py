"""VOTable and FITS export read back with astropy (not our code): table products keep their
rows and units, image products their pixels, WCS and provenance keywords."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from astropy.io import fits as afits
from astropy.io.votable import parse_single_table
from astropy.table import Table
from astropy.wcs import WCS
from wisehub.lineage import Context, LineageStore
from wisehub.lineage.store import ProcessRecord
from wisehub.publish.export import ExportError, fits, votable
from wisehub.samples import SampleSet
from wisehub.storage import StoredObject


def _product(store: LineageStore, ds: xr.Dataset, path: Path, **kwargs: object):
    ds.to_zarr(path, mode="w")
    return store.register("Product", name=path.stem, data=StoredObject(str(path), "sha256:x", 1),
                          **kwargs)


@pytest.fixture
def store(tmp_path: Path) -> LineageStore:
    return LineageStore(f"sqlite:///{tmp_path / 'lineage.sqlite'}", Context("ada"))


def test_galaxy_table_to_votable_and_fits(sample_set: SampleSet, store: LineageStore,
                                          tmp_path: Path) -> None:
    galaxies = xr.open_zarr(sample_set.stores["galaxies"]).load()
    galaxies["distance_mpc"].attrs["units"] = "Mpc"
    product = _product(store, galaxies, tmp_path / "galaxies.zarr")
    as_votable = parse_single_table(votable(product, tmp_path / "g.xml")).to_table()
    assert list(as_votable["galaxy"]) == list(galaxies["galaxy"].values)
    np.testing.assert_array_equal(as_votable["distance_mpc"], galaxies["distance_mpc"].values)
    assert str(as_votable["distance_mpc"].unit) == "Mpc"
    with afits.open(fits(product, tmp_path / "g.fits")) as hdus:
        read = Table(hdus[1].data)
        assert hdus[1].header["WHPID"] == product.pid
    np.testing.assert_array_equal(read["velocity_km_s"], galaxies["velocity_km_s"].values)


def test_image_to_fits_keeps_wcs_and_provenance(store: LineageStore, tmp_path: Path) -> None:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval, wcs.wcs.crpix, wcs.wcs.cdelt = [150.1, 2.2], [8.0, 8.0], [-1e-4, 1e-4]
    pixels = np.arange(256, dtype=np.float32).reshape(16, 16)
    raw = store.register("RawFrame", name="raw-1")
    image = xr.Dataset({"bias": (("y", "x"), pixels, {"units": "adu"})},
                       attrs={})
    image["bias"].attrs["wcs"] = wcs.to_header_string()
    product = _product(store, image, tmp_path / "bias.zarr",
                       process=ProcessRecord(recipe="MasterBias", code_version="c1"),
                       used={"raws": [raw.pid]})
    with afits.open(fits(product, tmp_path / "bias.fits")) as hdus:
        header = hdus[0].header
        np.testing.assert_array_equal(hdus[0].data, pixels)
        assert WCS(header).wcs.crval.tolist() == [150.1, 2.2]
        assert (header["WHPID"], header["WHTYPE"], header["WHCODE"]) == (
            product.pid, "Product", "c1")
        assert header["WHINP001"] == raw.pid
        assert header["BUNIT"] == "adu"


def test_a_cube_is_neither_table_nor_image(tmp_path: Path) -> None:
    cube = xr.Dataset({"flux": (("w", "y", "x"), np.zeros((2, 2, 2)))})
    with pytest.raises(ExportError, match="one dimension"):
        votable(cube, tmp_path / "c.xml")
    with pytest.raises(ExportError, match="not a 2-D image"):
        fits(cube, tmp_path / "c.fits", variable="flux")
    assert not any(tmp_path.iterdir())

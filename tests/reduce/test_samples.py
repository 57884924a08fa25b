"""The sample night's truth comes back through the reductions and the ``wisehub reduce`` CLI."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner
from wisehub.cli import app
from wisehub.reduce import ReduceError, imstat, master_bias, overscan_correct
from wisehub.reduce.cli import open_frames, write_product
from wisehub.samples import SampleSet
from wisehub.storage.zarrio import open_zarr

OVERSCAN = 16


@pytest.fixture(scope="module")
def night(sample_set: SampleSet) -> dict:
    truth = sample_set.truth
    chip = sorted(truth["chips"])[0]
    return {"night": truth["nights"][1], "index": 1, "chip": chip,
            "truth": truth["chips"][chip], "maps": sample_set.maps(),
            "raw": str(sample_set.stores["raw"])}


def frames(night: dict, kind: str, **more: str) -> xr.DataArray:
    select = [f"NIGHT={night['night']}", f"CHIP={night['chip']}", f"IMAGETYP={kind}"]
    return open_frames(night["raw"], select + [f"{k}={v}" for k, v in more.items()])


def test_bias_level_and_structure_recovered(night):
    biases = frames(night, "BIAS")
    level = master_bias(biases, "mean", overscan=False).isel(x=slice(0, -OVERSCAN))
    structure = night["maps"][f"bias_structure_{night['chip']}"]
    expected = night["truth"]["bias_level"][night["index"]] + structure[:, :-OVERSCAN].mean()
    assert float(level.mean()) == pytest.approx(expected, abs=0.3)
    corrected = master_bias(biases).compute()  # overscan-subtracted, trimmed
    rows = np.median(structure[:, -OVERSCAN:], axis=1)[:, None]
    residual = corrected.values - (structure[:, :-OVERSCAN] - rows)
    noise = night["truth"]["read_noise"] / night["truth"]["gain"]
    assert abs(float(residual.mean())) < noise / 3
    assert float(residual.std()) < 1.5 * noise / np.sqrt(biases.sizes["frame"])


def test_gain_and_read_noise_from_bias_and_flat_pairs(night):
    biases = overscan_correct(frames(night, "BIAS"))
    flats = overscan_correct(frames(night, "FLAT", FILTER="r"))
    bias_noise = float(imstat(biases[0] - biases[1])["clipped_stdev"]) / np.sqrt(2)
    signal = float(imstat(flats)["clipped_mean"].sum()) - 2 * float(imstat(biases)["mean"].mean())
    difference = float(imstat(flats[0] - flats[1])["clipped_stdev"]) ** 2
    gain = signal / (difference - 2 * bias_noise**2)
    assert gain == pytest.approx(night["truth"]["gain"], rel=0.05)
    assert bias_noise * gain == pytest.approx(night["truth"]["read_noise"], rel=0.08)


def test_cli_makes_a_flat_that_recovers_the_pattern(night, tmp_path):
    runner = CliRunner()
    bias, flat = str(tmp_path / "bias.zarr"), str(tmp_path / "flat.zarr")
    where = ["-s", f"NIGHT={night['night']}", "-s", f"CHIP={night['chip']}"]
    result = runner.invoke(app, ["reduce", "bias", night["raw"], "-o", bias, *where])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["reduce", "flat", night["raw"], "-o", flat, "--filter", "r",
                                 "--bias", bias, *where])
    assert result.exit_code == 0, result.output
    made = open_zarr(flat)["data"].values
    pattern = night["maps"][f"flat_{night['chip']}_r"]
    ratio = made / (pattern / np.median(pattern))
    assert float(np.median(made)) == pytest.approx(1.0, abs=1e-6)
    assert float(np.std(ratio)) < 0.01
    product = open_zarr(bias)["data"]
    assert "combine(method='sigma_clip'" in product.attrs["history"][-1]
    assert product.attrs["IMAGETYP"] == "MASTER_BIAS"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bias.zarr", "flat.zarr"]

    again = runner.invoke(app, ["reduce", "bias", night["raw"], "-o", bias, *where])
    assert isinstance(again.exception, FileExistsError)
    calibrated = str(tmp_path / "science.zarr")
    result = runner.invoke(app, ["reduce", "calibrate", night["raw"], "-o", calibrated,
                                 "--bias", bias, "--flat", flat, "-s", "FILTER=r", "--variance",
                                 *where])
    assert result.exit_code == 0, result.output
    stored = open_zarr(calibrated, small_coords=True)
    science = stored["data"]
    assert science.attrs["units"] == "electron" and set(science["FILTER"].values) == {"r"}
    assert stored["variance"].attrs["units"] == "electron2"
    assert np.nanmedian(stored["variance"].values) > np.nanmedian(science.values)  # + read noise


def test_cli_reports_bad_selections(night):
    result = CliRunner().invoke(app, ["reduce", "imstat", night["raw"], "-s", "CHIP=ccd99"])
    assert isinstance(result.exception, ReduceError)
    assert "no frames with CHIP=ccd99" in str(result.exception)
    result = CliRunner().invoke(app, ["reduce", "imstat", night["raw"], "-s",
                                      f"NIGHT={night['night']}", "-s", "IMAGETYP=BIAS"])
    assert result.exit_code == 0 and "median" in result.output


def test_a_failed_write_leaves_nothing(tmp_path):
    def explode(block: np.ndarray) -> np.ndarray:
        raise RuntimeError("disk on fire")

    data = da.zeros((4, 4), chunks=2).map_blocks(explode, dtype=float)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_product(xr.DataArray(data, dims=("y", "x")), str(tmp_path / "out.zarr"))
    assert list(tmp_path.iterdir()) == []

"""The sample data carry the physics they claim: each truth is recovered from the pixels."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from astropy.stats import sigma_clipped_stats
from wisehub.samples import SampleSet, make_ccd_fits
from wisehub.samples.ifu import REST_LINES_AA


@pytest.fixture(scope="module")
def raw(sample_set: SampleSet) -> xr.Dataset:
    return xr.open_zarr(sample_set.stores["raw"]).load()


def _frames(raw: xr.Dataset, **keys: str) -> xr.DataArray:
    mask = np.ones(raw.sizes["frame"], bool)
    for key, value in keys.items():
        mask &= raw[key].values == value
    return raw.data.isel(frame=np.flatnonzero(mask), x=slice(0, -16)).astype(np.float64)


def test_layout_has_every_frame_kind_for_every_night_and_chip(
    sample_set: SampleSet, raw: xr.Dataset
) -> None:
    truth = sample_set.truth
    assert len(truth["nights"]) == 3 and len(truth["chips"]) == 2
    for night in truth["nights"]:
        for chip in truth["chips"]:
            kinds = set(
                raw.IMAGETYP.values[(raw.NIGHT.values == night) & (raw.CHIP.values == chip)]
            )
            assert kinds == {"BIAS", "DARK", "FLAT", "SCIENCE"}
    assert set(raw.FILTER.values[raw.IMAGETYP.values == "FLAT"]) == {"g", "r"}


@pytest.mark.parametrize("night_index", [0, 2])
def test_bias_level_recovered(sample_set: SampleSet, raw: xr.Dataset, night_index: int) -> None:
    night = sample_set.truth["nights"][night_index]
    for chip, chip_truth in sample_set.truth["chips"].items():
        bias = _frames(raw, IMAGETYP="BIAS", CHIP=chip, NIGHT=night).mean("frame")
        structure = sample_set.maps()[f"bias_structure_{chip}"][:, :-16]
        expected = chip_truth["bias_level"][night_index] + structure.mean()
        assert float(bias.mean()) == pytest.approx(expected, abs=0.3)
        # the read noise, from the difference of two bias frames
        pair = _frames(raw, IMAGETYP="BIAS", CHIP=chip, NIGHT=night)
        noise_adu = float((pair[0] - pair[1]).std()) / np.sqrt(2)
        assert noise_adu * chip_truth["gain"] == pytest.approx(chip_truth["read_noise"], rel=0.06)


def test_gain_from_a_flat_pair(sample_set: SampleSet, raw: xr.Dataset) -> None:
    night = sample_set.truth["nights"][1]
    for chip, chip_truth in sample_set.truth["chips"].items():
        flats = _frames(raw, IMAGETYP="FLAT", CHIP=chip, NIGHT=night, FILTER="r").values
        biases = _frames(raw, IMAGETYP="BIAS", CHIP=chip, NIGHT=night).values
        signal = flats[0].mean() + flats[1].mean() - 2 * biases.mean()
        _, _, sd_flat = sigma_clipped_stats(flats[0] - flats[1], sigma=4)
        _, _, sd_bias = sigma_clipped_stats(biases[0] - biases[1], sigma=4)
        gain = signal / (sd_flat**2 - sd_bias**2)
        assert gain == pytest.approx(chip_truth["gain"], rel=0.06)


def test_flat_pattern_recovered(sample_set: SampleSet, raw: xr.Dataset) -> None:
    night = sample_set.truth["nights"][0]
    chip = "ccd1"
    bias = _frames(raw, IMAGETYP="BIAS", CHIP=chip, NIGHT=night).mean("frame")
    flat = (_frames(raw, IMAGETYP="FLAT", CHIP=chip, NIGHT=night, FILTER="g") - bias).mean("frame")
    truth = sample_set.maps()[f"flat_{chip}_g"]
    ratio = (flat / flat.mean()).values / (truth / truth.mean())
    assert np.median(np.abs(ratio - 1)) < 0.01


def test_star_positions_through_the_wcs(sample_set: SampleSet, raw: xr.Dataset) -> None:
    stars = sample_set.truth["stars"]
    science = np.flatnonzero((raw.IMAGETYP.values == "SCIENCE") & (raw.EXPTIME.values < 1000))
    offsets = []
    for index in science[:6]:
        image = raw.data.isel(frame=index).values[:, :-16].astype(float)
        image -= np.median(image)
        wcs = raw["data"].wise.frame_wcs(int(index))
        x, y = wcs.world_to_pixel_values(stars["ra"], stars["dec"])
        for i in np.flatnonzero(
            (np.array(stars["mag_r"]) < 19.5) & (x > 6) & (x < 89) & (y > 6) & (y < 89)
        ):
            if np.sort(np.hypot(x - x[i], y - y[i]))[1] < 8:  # a neighbour would pull
                continue
            ys, xs = round(y[i]), round(x[i])
            box = image[ys - 4 : ys + 5, xs - 4 : xs + 5]
            if box.max() > 60000:  # saturated: centroid is unreliable
                continue
            yy, xx = np.mgrid[ys - 4 : ys + 5, xs - 4 : xs + 5]
            weights = np.clip(box, 0, None)
            offsets.append(
                (
                    (weights * xx).sum() / weights.sum() - x[i],
                    (weights * yy).sum() / weights.sum() - y[i],
                )
            )
    offsets = np.array(offsets)
    assert len(offsets) >= 5
    # a WCS off by even half a pixel would move the median offset well past this
    assert np.all(np.abs(np.median(offsets, axis=0)) < 0.15)


def test_cube_redshift_recovered(sample_set: SampleSet) -> None:
    cube = xr.open_zarr(sample_set.stores["ifu"]).flux
    spectrum = cube.sum(["y", "x"]).compute()
    halpha = spectrum.sel(wavelength=slice(6700, 6850))
    peak = int(np.argmax(halpha.values))
    w = halpha.wavelength.values
    f = halpha.values
    # parabolic interpolation of the peak
    offset = 0.5 * (f[peak - 1] - f[peak + 1]) / (f[peak - 1] - 2 * f[peak] + f[peak + 1])
    observed = w[peak] + offset * (w[1] - w[0])
    redshift = observed / REST_LINES_AA["H-alpha"] - 1
    assert redshift == pytest.approx(sample_set.truth["ifu"]["redshift"], abs=2e-4)


def test_event_spectrum_slope(sample_set: SampleSet) -> None:
    events = xr.open_zarr(sample_set.stores["showers"])
    energy = events.energy_ev.values
    truth = sample_set.truth["showers"]
    assert len(energy) == truth["n_events"]
    edges = np.logspace(15, 15.55, 8)
    counts, _ = np.histogram(energy, edges)
    centres = np.sqrt(edges[1:] * edges[:-1])
    slope = np.polyfit(np.log10(centres), np.log10(counts / np.diff(edges)), 1)[0]
    assert slope == pytest.approx(-truth["gamma_below"], abs=0.08)
    above = energy[energy > 1.5 * truth["knee_ev"]]  # well past the knee, the slope steepens
    gamma_above = 1 + 1 / np.mean(np.log(above / above.min()))  # maximum-likelihood index
    assert gamma_above == pytest.approx(truth["gamma_above"], abs=0.2)
    assert events.zenith_deg.min() > 0 and events.zenith_deg.max() <= 40
    assert np.all(np.diff(events.time_unix.values) >= 0)
    # shower size grows with energy
    assert np.corrcoef(np.log10(energy), np.log10(events.shower_size.values))[0, 1] > 0.8


def test_samples_are_deterministic(tmp_path) -> None:
    first = make_ccd_fits(tmp_path / "a", size=40, nights=1, chips=1, seed=7)
    second = make_ccd_fits(tmp_path / "b", size=40, nights=1, chips=1, seed=7)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]

"""The school tutorials run top to bottom on the sample data and reach the right answers."""

from __future__ import annotations

import math

import numpy as np
import pytest


def test_cosmic_ray_knee_and_spectral_index(run_notebook, sample_set):
    truth = sample_set.truth["showers"]
    got = run_notebook("tutorials/03-cosmic-rays-knee.ipynb",
                       ["knee_ev", "gamma_below", "gamma_above", "errors"])
    assert got["gamma_below"] == pytest.approx(truth["gamma_below"], abs=0.05)
    assert got["gamma_above"] > got["gamma_below"]  # the spectrum steepens
    # with ~0.2% of the events above the knee its position is known only to its fit error
    log_err = got["errors"][1]
    assert abs(math.log10(got["knee_ev"]) - math.log10(truth["knee_ev"])) < max(2 * log_err, 0.2)


def test_redshift_of_the_ifu_galaxy_and_hubble_constant(run_notebook, sample_set):
    truth = sample_set.truth["ifu"]
    got = run_notebook("tutorials/04-expanding-universe.ipynb", ["redshift", "hubble_constant"])
    assert got["redshift"] == pytest.approx(truth["redshift"], abs=2e-4)
    assert got["hubble_constant"] == pytest.approx(truth["h0"], rel=0.1)


def test_image_noise_is_photon_plus_read_noise(run_notebook):
    got = run_notebook("tutorials/01-telescope-image.ipynb",
                       ["noise_measured", "noise_expected", "n_stars", "instrumental_mag"])
    assert got["noise_measured"] == pytest.approx(got["noise_expected"], rel=0.15)
    assert got["n_stars"] >= 3 and len(got["instrumental_mag"]) == got["n_stars"]


def test_bias_and_flat_recover_the_camera(run_notebook, sample_set):
    got = run_notebook("tutorials/02-bias-and-flat.ipynb",
                       ["bias_level", "master_flat", "unevenness_before", "unevenness_after"])
    assert got["bias_level"] == pytest.approx(
        sample_set.truth["chips"]["ccd1"]["bias_level"][0], abs=5)
    flat = np.asarray(got["master_flat"])
    truth = sample_set.maps()["flat_ccd1_r"][: flat.shape[0], : flat.shape[1]]
    assert np.corrcoef(flat.ravel(), truth.ravel())[0, 1] > 0.9
    assert got["unevenness_after"] < 0.5 * got["unevenness_before"]


def test_data_shop_order_finds_the_knee(run_notebook, sample_set):
    """The shop tutorial orders the knee subset as HDF5 (a real local batch job), reads it
    with h5py and fits both slopes."""
    truth = sample_set.truth["showers"]
    got = run_notebook("tutorials/05-data-shop-knee.ipynb",
                       ["knee_ev", "gamma_below", "gamma_above", "errors", "n_events",
                        "licence", "citation"])
    assert got["licence"] == "CC0-1.0" and "urn:uuid:" in got["citation"]
    assert 0 < got["n_events"] < truth["n_events"]
    assert got["gamma_below"] == pytest.approx(truth["gamma_below"], abs=0.1)
    assert got["gamma_above"] > got["gamma_below"]
    log_err = got["errors"][1]
    assert abs(math.log10(got["knee_ev"]) - math.log10(truth["knee_ev"])) < max(2 * log_err, 0.2)

"""wisehub.viz on the sample data: images with WCS labels, cubes, spectra, lineage, CalTS, QC,
and PNG/HTML exports checked for size and content."""

from __future__ import annotations

import dask.array as da
import holoviews as hv
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from PIL import Image
from wisehub import viz
from wisehub.pipelines.ccd import MasterBias


def _png_pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"), dtype=float)


@pytest.fixture(scope="module")
def raw(sample_set):
    return xr.open_zarr(sample_set.stores["raw"])


def test_science_frame_with_sky_axes_and_png(raw, tmp_path):
    first = raw["frame"].values[raw["IMAGETYP"].values == "SCIENCE"][0]
    frame = raw["data"].sel(frame=first)
    img = viz.image(frame, title="science")
    opts = img.opts.get(backend="bokeh").kwargs
    assert {opts["xlabel"], opts["ylabel"]} == {"RA", "Dec"}
    labels = [label for _, label in opts["xticks"]]
    assert len(set(labels)) == len(labels) == 5 and all(":" in s for s in labels)
    # the stretch puts sky mid-range and stars near white
    values = img.dimension_values("value")
    assert 0.1 < np.median(values) < 0.8 and values.max() == pytest.approx(1.0)

    png = viz.save(img, tmp_path / "science.png", width=640, height=480)
    pixels = _png_pixels(png)
    assert pixels.shape == (480, 640) and pixels.std() > 20  # not blank
    html = viz.save(img, tmp_path / "science.html")
    assert "Bokeh" in html.read_text()[:5000] and not list(tmp_path.glob(".*partial*"))


def test_single_frame_stack_is_shown_with_its_wcs(raw):
    one = raw["data"].isel(frame=[-1])  # dims (frame=1, y, x), as a reduced product has
    opts = viz.image(one).opts.get(backend="bokeh").kwargs
    assert {opts["xlabel"], opts["ylabel"]} == {"RA", "Dec"}


def test_large_frame_is_rasterised(raw, tmp_path):
    tile = raw["data"].isel(frame=0).values.astype("float32")
    frame = da.from_array(np.tile(tile, (12, 12)), chunks=512)  # 1.5 Mpx, dask-backed
    view = viz.image(frame, width=300)
    assert isinstance(view, hv.DynamicMap)
    shown = view[()]
    assert shown.data["value"].size <= 300 * 300
    assert _png_pixels(viz.save(view, tmp_path / "big.png", width=400, height=400)).std() > 5


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="select one frame"):
        viz.image(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="interval 'bogus'"):
        viz.image(np.ones((4, 4)), interval="bogus")
    with pytest.raises(ValueError, match="no finite pixels"):
        viz.image(np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match=r"\.png or \.html"):
        viz.save(hv.Curve([1, 2]), "plot.jpg")


def test_cube_explorer_finds_the_redshifted_halpha(sample_set):
    cube = xr.open_zarr(sample_set.stores["ifu"])["flux"]
    view = viz.cube_explorer(cube)
    total = cube.sum("wavelength").values
    y, x = np.unravel_index(np.nanargmax(total), total.shape)
    spec = view.select(x=x, y=y)
    assert view.pixel.x == x and view.pixel.y == y
    z = sample_set.truth["ifu"]["redshift"]
    peak = float(spec["wavelength"][int(np.nanargmax(spec.values))])
    assert peak == pytest.approx(6562.8 * (1 + z), abs=5)  # H-alpha is the strongest line
    images, spectra = view.layout
    plane = images[peak]
    assert plane.data["flux"].shape == total.shape
    assert spectra[()].dimension_values("flux").max() == pytest.approx(float(spec.max()))


def test_shower_spectrum_with_log_axes_and_fit(sample_set, tmp_path):
    e = xr.open_zarr(sample_set.stores["showers"])["energy_ev"].values
    plot = viz.histogram(e, bins=30, logx=True, logy=True, fit=lambda x: 1e3 * x ** -1.7,
                         xlabel="energy", ylabel="events")
    bars = plot.get(0)
    edges = bars.edges
    assert np.allclose(np.diff(np.log(edges)), np.log(edges[1] / edges[0]))  # log-spaced
    assert bars.dimension_values("events").sum() == np.isfinite(e).sum()
    assert bars.opts.get(backend="bokeh").kwargs["logx"] is True
    assert _png_pixels(viz.save(plot, tmp_path / "e.png", width=500, height=300)).std() > 10

    counts, edges = np.histogram(e, bins=np.geomspace(e.min(), e.max(), 21))
    centre, ok = np.sqrt(edges[1:] * edges[:-1]), counts > 0
    spec = viz.spectrum(centre[ok], counts[ok], yerr=np.sqrt(counts[ok]), logx=True, logy=True,
                        fit=lambda x: counts[0] * (x / centre[0]) ** -1.7)
    assert [type(el).__name__ for el in spec] == ["Scatter", "ErrorBars", "Curve"]
    assert _png_pixels(viz.save(spec, tmp_path / "s.png", width=500, height=300)).std() > 10


def test_lineage_graph_colours_qc_states(ccd_lineage, tmp_path):
    store, reduced, _, _ = ccd_lineage
    lin = store.lineage(reduced.pid)
    nodes, edges = viz.lineage_tables(lin)
    assert set(nodes["state"]) >= {"ok", "process"}
    raw_ids = {p.pid for p in lin.raw}
    root_x = nodes.set_index("id").loc[reduced.pid, "x"]
    assert nodes[nodes["id"].isin(raw_ids)]["x"].max() < root_x  # raw on the left
    assert set(edges["target"]) >= {reduced.pid}
    graph = viz.lineage_graph(lin)
    assert _png_pixels(viz.save(graph, tmp_path / "lineage.png")).std() > 5


def test_calibration_timeline_shows_eclipsed_flagged_and_invalid(ccd_lineage, tmp_path):
    store, reduced, remade, flagged = ccd_lineage
    biases = MasterBias.query(chip="ccd1").using(store).all()
    segments = viz.timeline_segments(biases)
    states = {s.state for s in segments}
    assert {"in use", "invalid", "flagged"} <= states
    used = [s for s in segments if s.state == "in use"]
    assert remade.name in {s.name for s in used} and remade != reduced.bias
    assert reduced.bias.name in {s.name for s in segments if s.state == "invalid"}
    assert flagged.name in {s.name for s in segments if s.state == "flagged"}
    chart = viz.calibration_timeline(biases)
    assert _png_pixels(viz.save(chart, tmp_path / "calts.png", width=700, height=250)).std() > 5


def test_qc_trend_marks_out_of_limit_nights(tmp_path):
    table = pd.DataFrame({"night": [1, 2, 3, 4, 1, 2, 3, 4],
                          "chip": ["a"] * 4 + ["b"] * 4,
                          "level": [300.0, 301, 299, 340, 310, 311, 309, 312]})
    plot = viz.qc_trend(table, "night", "level", by="chip", limits=(290, 320))
    outliers = next(el for el in plot if el.label == "out of limits")
    assert outliers.dimension_values("level").tolist() == [340.0]
    with pytest.raises(ValueError, match=r"\['zeropoint'\]"):
        viz.qc_trend(table, "night", "zeropoint")


def _axis_labels(view) -> set[str]:
    opts = view.opts.get(backend="bokeh").kwargs
    return {opts.get("xlabel"), opts.get("ylabel")}


def test_image_of_a_lineage_product_as_design_shows_it(ccd_lineage):
    _, reduced, remade, _ = ccd_lineage
    assert _axis_labels(viz.image(reduced)) == {"RA", "Dec"}  # the WCS came through calibrate
    master = viz.image(remade)  # a master bias: a product without sky axes
    assert master.dimension_values("value").size == remade.open()["data"].size
    assert reduced.open()["data"].wise.pid == reduced.pid


def test_coadd_written_and_read_back_shows_ra_dec_axes(tmp_path):
    from astropy.wcs import WCS
    from wisehub.reduce import stack
    from wisehub.storage.zarrio import open_zarr, write_zarr

    headers = []
    for dx in (0.0, 2.5):
        w = WCS(naxis=2)
        w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        w.wcs.crval, w.wcs.crpix, w.wcs.cdelt = [150.0, 2.0], [16 + dx, 16], [-5e-5, 5e-5]
        headers.append(w.to_header().tostring())
    frames = xr.DataArray(np.random.default_rng(2).normal(10, 1, (2, 32, 32)).astype("f4"),
                          dims=("frame", "y", "x"), coords={"WCSHDR": ("frame", headers)})
    coadd = stack(frames)
    assert _axis_labels(viz.image(coadd)) == {"RA", "Dec"}
    url = write_zarr(coadd, str(tmp_path / "coadd.zarr"))
    back = open_zarr(url)
    assert _axis_labels(viz.image(back)) == {"RA", "Dec"}  # a Dataset, WCS through Zarr
    assert back.wise.wcs.wcs.crval.tolist() == pytest.approx([150.0, 2.0], abs=1e-3)

"""``wisehub reduce …``: masters, calibration, stacking and statistics from the shell.

Inputs are catalogue entry names or Zarr paths/URLs holding a ``data`` variable with dims
``frame, y, x``. Products are written as Zarr under a temporary name and moved into place
only when complete, so a failure leaves nothing behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

# The reductions (xarray, dask, numba) load when a command runs, not when the CLI starts.
from wisehub import reduce

if TYPE_CHECKING:
    import xarray as xr

app = typer.Typer(help="Reduce CCD frames: master bias/dark/flat, calibrate, stack, imstat.",
                  no_args_is_help=True)

Source = Annotated[str, typer.Argument(help="catalogue entry name or Zarr path/URL")]
Output = Annotated[str, typer.Option("--output", "-o", help="Zarr path for the product")]
Method = Annotated[str, typer.Option(help="mean, median, sigma_clip or minmax")]
Select = Annotated[list[str] | None, typer.Option(
    "--select", "-s", help="keep frames whose coordinate KEY equals VALUE (KEY=VALUE)")]
Master = Annotated[str | None, typer.Option(help="master product (Zarr path or entry)")]
Workers = Annotated[int | None, typer.Option(help="start a local Dask cluster of N workers")]
Sigma = Annotated[float, typer.Option(help="sigma_clip: clipping threshold (both sides)")]


def open_frames(source: str, select: list[str] | None = None) -> xr.DataArray:
    """The ``data`` variable of a catalogue entry or Zarr store, filtered by ``KEY=VALUE``."""
    if "://" in source or Path(source).exists():
        from wisehub.storage.zarrio import open_zarr

        dataset = open_zarr(source, small_coords=True)
    else:
        from wisehub.catalog import catalog

        dataset = catalog()[source].read()
    if "data" not in dataset:
        raise reduce.ReduceError(f"{source} has no 'data' variable; expected frames (frame, y, x)")
    frames = dataset["data"]
    for condition in select or []:
        key, sep, value = condition.partition("=")
        if not sep or key not in frames.coords or frames[key].dims != ("frame",):
            keys = sorted(str(c) for c, v in frames.coords.items() if v.dims == ("frame",))
            raise reduce.ReduceError(f"--select {condition!r}: expected KEY=VALUE with KEY a "
                                     f"per-frame coordinate: {keys}")
        values = frames[key].values
        keep = values == (type(values[0].item())(value) if len(values) else value)
        if not keep.any():
            raise reduce.ReduceError(f"{source}: no frames with {key}={value} "
                                     f"(it has {sorted(set(values.tolist()))[:10]})")
        frames = frames.isel(frame=keep.nonzero()[0])
    return frames


def open_master(source: str | None) -> xr.DataArray | None:
    """A 2-D master product (or ``None``)."""
    return None if source is None else open_frames(source).squeeze(drop=True)


def write_product(product: xr.DataArray | xr.Dataset, output: str) -> str:
    """Compute and write ``product`` to ``output`` atomically; refuse to overwrite."""
    import xarray as xr

    from wisehub.storage.zarrio import write_zarr

    dataset = product if isinstance(product, xr.Dataset) else product.to_dataset(name="data")
    return write_zarr(dataset, output, progress="reducing")


def _client(workers: int | None) -> Any:
    if workers is None:
        return None
    from wisehub.compute import cluster

    return cluster(workers)


def _done(output: str, product: xr.DataArray | xr.Dataset, workers: int | None) -> None:
    client = _client(workers)
    try:
        typer.echo(f"wrote {write_product(product, output)}")
    finally:
        if client is not None:
            client.close()


@app.command("bias")
def bias_cmd(source: Source, output: Output, method: Method = "sigma_clip",
             select: Select = None, sigma: Sigma = 3.0, workers: Workers = None) -> None:
    """Combine the BIAS frames of SOURCE into a master bias."""
    frames = open_frames(source, [*(select or []), "IMAGETYP=BIAS"])
    _done(output, reduce.master_bias(frames, method, **_clip(method, sigma)), workers)


@app.command("dark")
def dark_cmd(source: Source, output: Output, bias: Master = None,
             method: Method = "sigma_clip", select: Select = None, sigma: Sigma = 3.0,
             workers: Workers = None) -> None:
    """Combine the DARK frames of SOURCE into dark current per second."""
    frames = open_frames(source, [*(select or []), "IMAGETYP=DARK"])
    product = reduce.master_dark(frames, open_master(bias), method, **_clip(method, sigma))
    _done(output, product, workers)


@app.command("flat")
def flat_cmd(source: Source, output: Output,
             filter: Annotated[str, typer.Option(help="the filter to make a flat for")],
             bias: Master = None, dark: Master = None, method: Method = "median",
             select: Select = None, sigma: Sigma = 3.0, workers: Workers = None) -> None:
    """Combine the FLAT frames of one filter into a normalised master flat."""
    frames = open_frames(source, [*(select or []), "IMAGETYP=FLAT"])
    product = reduce.master_flat(frames, open_master(bias), open_master(dark), method,
                                 filter=filter, **_clip(method, sigma))
    _done(output, product, workers)


@app.command("calibrate")
def calibrate_cmd(source: Source, output: Output, bias: Master = None, dark: Master = None,
                  flat: Master = None,
                  gain: Annotated[float | None, typer.Option(help="e-/ADU; default GAIN")] = None,
                  variance: Annotated[bool, typer.Option(help="write a variance plane")] = False,
                  select: Select = None, workers: Workers = None) -> None:
    """Calibrate the SCIENCE frames of SOURCE to electrons."""
    frames = open_frames(source, [*(select or []), "IMAGETYP=SCIENCE"])
    flat_image = open_master(flat)
    calibrated = reduce.calibrate(frames, open_master(bias), open_master(dark), flat_image,
                                  gain=gain)
    product: xr.DataArray | xr.Dataset = calibrated
    if variance:
        import xarray as xr

        product = xr.Dataset({"data": calibrated,
                              "variance": reduce.variance(calibrated, flat_image)})
    _done(output, product, workers)


@app.command("stack")
def stack_cmd(source: Source, output: Output, method: Method = "sigma_clip",
              select: Select = None, sigma: Sigma = 3.0, workers: Workers = None) -> None:
    """Coadd calibrated frames of SOURCE on a common sky grid (their WCS)."""
    product = reduce.stack(open_frames(source, select), method, **_clip(method, sigma))
    _done(output, product, workers)


@app.command("imstat")
def imstat_cmd(source: Source, select: Select = None,
               section: Annotated[str | None, typer.Option(help="FITS section")] = None) -> None:
    """Print per-frame statistics of SOURCE."""
    from wisehub.compute import compute

    table = compute(reduce.imstat(open_frames(source, select), section=section),
                    description="statistics")
    columns = ["npix", "mean", "median", "stdev", "mad_std", "min", "max"]
    typer.echo("frame".ljust(24) + "".join(c.rjust(12) for c in columns))
    for i, frame in enumerate(table["frame"].values):
        row = "".join(f"{float(table[c][i]):12.4g}" for c in columns)
        typer.echo(str(frame).ljust(24) + row)


def _clip(method: str, sigma: float) -> dict[str, float]:
    return {"sigma": sigma} if method == "sigma_clip" else {}

"""Show a 4k × 4k frame: wisehub.viz.image (zscale + asinh, datashader-rasterised) against the
references users would otherwise reach for.

Prints seconds and output sizes for:
  * ours: image() -> HTML (bokeh) and -> PNG (matplotlib), the rasterised view;
  * reference A: the same hv.Image un-rasterised -> HTML (every pixel sent to the browser);
  * reference B: matplotlib imshow with astropy's ImageNormalize (zscale + asinh) -> PNG;
then the ratios. The data is an in-memory float32 array and imports are warmed up first, so
the figures measure plotting only.

    python benchmarks/bench_viz.py              # 4096 × 4096
    python benchmarks/bench_viz.py --side 2048  # a quick look
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import holoviews as hv
import matplotlib
import numpy as np

matplotlib.use("Agg")


def _timed(func) -> tuple[float, object]:
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=4096)
    args = parser.parse_args()

    import matplotlib.pyplot as plt
    from astropy.visualization import AsinhStretch, ImageNormalize, ZScaleInterval
    from wisehub import viz

    rng = np.random.default_rng(0)
    frame = rng.normal(1000.0, 10.0, (args.side, args.side)).astype(np.float32)
    frame[rng.integers(0, args.side, 2000), rng.integers(0, args.side, 2000)] += 5000.0
    out = Path(tempfile.mkdtemp(prefix="bench-viz-"))
    warm = viz.image(frame[:64, :64], rasterize=True)  # imports (datashader, numba) untimed
    viz.save(warm, out / "warm.html")
    viz.save(warm, out / "warm.png")

    t_build, view = _timed(lambda: viz.image(frame, width=800))
    t_html, _ = _timed(lambda: viz.save(view, out / "ours.html"))
    t_png, _ = _timed(lambda: viz.save(view, out / "ours.png", width=800, height=800))

    def full_html() -> None:
        element = hv.Image(frame[::-1], bounds=(0, 0, args.side, args.side))
        viz.save(element.opts(cmap="gray", backend="bokeh"), out / "full.html")

    t_full, _ = _timed(full_html)

    def imshow_png() -> None:
        norm = ImageNormalize(frame, interval=ZScaleInterval(), stretch=AsinhStretch())
        fig, ax = plt.subplots(figsize=(8, 8), dpi=100)
        ax.imshow(frame, origin="lower", cmap="gray", norm=norm)
        fig.savefig(out / "imshow.png")
        plt.close(fig)

    t_imshow, _ = _timed(imshow_png)

    size = {p.stem: p.stat().st_size / 1e6 for p in out.iterdir()}
    print(f"frame {args.side} x {args.side} float32 ({frame.nbytes / 1e6:.0f} MB)")
    print(f"ours      build view       {t_build:7.2f} s")
    print(f"ours      -> HTML          {t_html:7.2f} s  {size['ours']:8.1f} MB (rasterised)")
    print(f"ours      -> PNG 800x800   {t_png:7.2f} s")
    print(f"ref A     full-res HTML    {t_full:7.2f} s  {size['full']:8.1f} MB")
    print(f"ref B     imshow PNG       {t_imshow:7.2f} s")
    print(f"ratio HTML time  ours/refA {(t_build + t_html) / t_full:6.2f}   "
          f"HTML size ours/refA {size['ours'] / size['full']:.4f}")
    print(f"ratio PNG time   ours/refB {(t_build + t_png) / t_imshow:6.2f}")


if __name__ == "__main__":
    main()

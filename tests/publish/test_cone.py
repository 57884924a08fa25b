"""The IVOA Simple Cone Search through the hub, queried with pyvo's SCS client: the rows and
their UCDs match a direct selection of the sample star catalogue.

Starts: the session hub with the publish service (tests/publish/conftest.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import pyvo
from astropy.coordinates import SkyCoord
from wisehub.hub.launcher import RunningHub
from wisehub.samples import SampleSet

pytestmark = pytest.mark.hub


def test_pyvo_cone_search_matches_a_direct_selection(publish_hub: RunningHub,
                                                     sample_set: SampleSet) -> None:
    stars = sample_set.truth["stars"]
    ra, dec = np.asarray(stars["ra"]), np.asarray(stars["dec"])
    centre = SkyCoord(float(np.median(ra)), float(np.median(dec)), unit="deg")
    radius = 0.004
    expected = SkyCoord(ra, dec, unit="deg").separation(centre).deg <= radius
    assert 0 < expected.sum() < len(ra)  # the cone cuts the catalogue

    service = pyvo.dal.SCSService(f"{publish_hub.url}services/publish/scs/stars")
    result = service.search(pos=centre, radius=radius)
    table = result.to_table()
    assert sorted(table["id"]) == sorted(f"WH-STAR-{i + 1}" for i in np.flatnonzero(expected))
    np.testing.assert_allclose(np.sort(table["mag_r"]),
                               np.sort(np.asarray(stars["mag_r"])[expected]))
    ucds = {f.name: f.ucd for f in result.fielddescs}
    assert ucds["ra"] == "POS_EQ_RA_MAIN" and ucds["mag_g"] == "phot.mag;em.opt.B"
    assert list(table["distance_deg"]) == sorted(table["distance_deg"])  # nearest first


def test_bad_cone_is_an_error_votable(publish_hub: RunningHub) -> None:
    service = pyvo.dal.SCSService(f"{publish_hub.url}services/publish/scs/stars")
    with pytest.raises(pyvo.dal.DALQueryError, match="SR=45.0 must be between 0 and 10"):
        service.search(pos=SkyCoord(150.1, 2.2, unit="deg"), radius=45.0)

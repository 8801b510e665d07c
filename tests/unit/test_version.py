"""suite/version.py: the installed version of a distribution, from its metadata."""

from __future__ import annotations

import numpy

from suite.version import distribution_version


def test_a_distributions_version_is_the_one_it_reports_itself_and_none_when_absent():
    assert distribution_version("numpy") == numpy.__version__
    assert distribution_version("no-such-distribution-bench") is None

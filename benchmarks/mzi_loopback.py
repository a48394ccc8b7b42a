"""Run the real ``mzi`` CLI with its Zoho data centre pointed at a loopback emulator.

mzi has, on purpose, no setting for a Zoho at an arbitrary URL: OAuth secrets go only to
Zoho's own accounts servers, chosen by ``[zoho] data_centre``. The benchmark needs mzi's
live code path against the Zoho emulator on ``127.0.0.1``, so this entry point swaps the
one data centre the benchmark's mzi.toml names (``com``) for ``$MZI_BENCH_ZOHO_URL``
(accounts server and API domain alike; the emulator's token answer names itself as the
API domain, as Zoho's does) and then runs ``mzi`` unchanged:

    MZI_BENCH_ZOHO_URL=http://127.0.0.1:8701 python benchmarks/mzi_loopback.py -c mzi.toml plan

Nothing else differs from ``mzi``: same providers, HTTP client, retries and concurrency.
"""

from __future__ import annotations

import os

from reconciler.cli import main
from reconciler.config import ZOHO_DATA_CENTRES

URL_ENV = "MZI_BENCH_ZOHO_URL"


def point_zoho_at_loopback() -> None:
    url = os.environ.get(URL_ENV, "").rstrip("/")
    if not url.startswith("http://127.0.0.1:"):
        raise SystemExit(f"{URL_ENV} must be a loopback URL such as http://127.0.0.1:8701 (got {url!r})")
    ZOHO_DATA_CENTRES["com"] = (url, url)


if __name__ == "__main__":
    point_zoho_at_loopback()
    main()

"""Simulator of Open Loyalty's customer API (openloyalty-customer-api.md), served under ``/openloyalty``.

Paths follow the prefix as the provider spells them: ``/api/admin/login_check``, ``/api/token/refresh`` and
``/api/{storeCode}/...`` with the one demo store ``DEFAULT``.
"""

from __future__ import annotations

from customer_graph.simulators.openloyalty.app import ADMIN_PASSWORD, ADMIN_USERNAME, create_app
from customer_graph.simulators.openloyalty.store import LEVELS, STORE_CODE

PREFIX = "/openloyalty"


def credentials() -> dict[str, str]:
    """What works against the simulator, as ``customer-graph simulate`` prints it."""
    return {
        "login": f"POST {PREFIX}/api/admin/login_check  _username={ADMIN_USERNAME} _password={ADMIN_PASSWORD}",
        "refresh": f"POST {PREFIX}/api/token/refresh  refresh_token=<from login>",
        "storeCode": STORE_CODE,
        "levels": ", ".join(f"{level.name}={level.level_id}" for level in LEVELS),
    }


__all__ = ["PREFIX", "create_app", "credentials"]

import pytest

from sonda.api.testing import Api


@pytest.fixture
def api(world) -> Api:
    """/api/v1 as any user of the `world`: `api.as_("analyst").get("/units")`."""
    return Api(world)

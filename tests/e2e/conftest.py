from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import pytest

from contracts.amqp import Topology, agency_codes
from gateway.agencies import load_agencies
from gateway.broker.provision import ProvisionError, Rabbitmqctl, deprovision
from mocks.kandas_bodies.config import BODIES as KANDAS_BODIES
from tests.conftest import AMQP_URL
from tests.e2e.log_scan import unmasked_iins
from tests.e2e.system import System


@pytest.fixture
def system(tmp_path: Path, amqp_prefix: str) -> Iterator[System]:
    instance = System(root=tmp_path, prefix=amqp_prefix)
    yield instance
    instance.stop_all()
    leaked = unmasked_iins(tmp_path)
    assert not leaked, "IINs in clear in the run's logs:\n" + "\n".join(leaked[:20])

    async def clean() -> None:
        connection = await aio_pika.connect(AMQP_URL)
        async with connection:
            channel = await connection.channel()
            # `gateway up` also starts the kandas chain's bodies, which declare their queues.
            codes = agency_codes((*load_agencies().enabled_codes(), *KANDAS_BODIES))
            await Topology(amqp_prefix, codes).delete(channel)

    async def bounded() -> None:
        # A broker that hangs a delete must not hang the whole suite: clean-up is best effort.
        try:
            async with asyncio.timeout(30):
                await clean()
                # The body users `gateway up` provisioned for this prefix.
                await deprovision(Rabbitmqctl(), amqp_prefix)
        except (TimeoutError, ProvisionError):
            pass

    asyncio.run(bounded())

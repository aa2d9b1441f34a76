"""The mock bus reads messages in Starlette's worker threads with a parser per thread.

lxml supports parsing from several threads at once with the default parser or with one
parser per thread; a module-level parser shared by every worker thread is outside that.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from mocks.shep import soap11

MESSAGE = b"<?xml version='1.0' encoding='utf-8'?>\n<a xmlns:ds='urn:x'><ds:b>1</ds:b></a>"


def _parsers_of_this_thread() -> tuple[int, int, int]:
    """The thread, and the parser it used for each of two messages."""
    soap11.parse(MESSAGE)
    first = id(soap11._PARSERS.parser)
    soap11.parse(MESSAGE)
    return threading.get_ident(), first, id(soap11._PARSERS.parser)


def test_each_thread_parses_with_a_parser_of_its_own_and_keeps_it() -> None:
    barrier = threading.Barrier(4)

    def in_worker() -> tuple[int, int, int]:
        barrier.wait(5)  # four distinct threads, alive at once
        return _parsers_of_this_thread()

    with ThreadPoolExecutor(max_workers=4) as pool:
        seen = list(pool.map(lambda _: in_worker(), range(4)))

    assert len({thread for thread, _, _ in seen}) == 4
    assert all(first == second for _, first, second in seen)  # a thread keeps its parser
    assert len({first for _, first, _ in seen}) == 4  # and no two threads share one


def test_the_parser_still_reads_a_namespaced_message() -> None:
    root = soap11.parse(MESSAGE)
    assert root[0].tag == "{urn:x}b" and root[0].text == "1"

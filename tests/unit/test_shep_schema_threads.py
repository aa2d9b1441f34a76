"""The bus contract's validator is used from the mock bus's thread pool.

Its first use from many threads at once once broke every later validation in a running
mock bus (libxml2's schema compiler is not re-entrant), so `contract_errors` serialises
it. The race is rare: this test checks correct answers under concurrent first use, and
is not a reliable reproduction of the old failure.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from contracts.shep import bus_schema, contract_errors
from mocks.population import generate_population
from mocks.shep.registries import person_element


def test_first_use_from_many_threads_at_once() -> None:
    people = generate_population(7).people[:16]
    elements = [person_element(p) for p in people]
    bus_schema.cache_clear()
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(contract_errors, elements * 4))
    assert results == [[]] * len(results)


def test_errors_name_the_line_and_reason() -> None:
    element = person_element(generate_population(7).people[0])
    element.remove(element[0])  # drop the IIN
    errors = contract_errors(element)
    assert errors and errors[0].startswith("line ")

"""The routing core on its own: pure, deterministic, and JSON-able."""

import json
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from engine import Case, WorkflowBuilder, executor
from engine.core.routing import (
    RUN_INPUT,
    Delivery,
    DeliveryJSON,
    Emission,
    EmissionJSON,
    FanInBuffers,
    Router,
    RoutingCodec,
)


class Reading(BaseModel):
    sensor: str
    value: float
    at: datetime


@executor
def start(r: Reading) -> Reading:
    return r


@executor
def a(r: Reading) -> Reading:
    return r


@executor
def b(r: Reading) -> Reading:
    return r


@executor
def c(r: Reading) -> Reading:
    return r


@executor
def agg(rs: list[Reading]) -> str:
    return ""


@executor
def hot(r: Reading) -> str:
    return "hot"


@executor
def cold(r: Reading) -> str:
    return "cold"


@executor
def log(r: Reading) -> str:
    return "log"


@executor
def alarm(r: Reading) -> str:
    return "alarm"


def workflow():
    return (
        WorkflowBuilder("sensors", start=start)
        .add_fan_out(start, [a, b, c])
        .add_fan_in([a, b, c], agg)
        .add_switch(a, [Case(lambda r: r.value > 30, hot)], default=cold)
        .add_edge(b, log)
        .add_edge(b, alarm, when=lambda r: r.value > 50)
        .build()
    )


def reading(sensor: str, value: float) -> Reading:
    return Reading(sensor=sensor, value=value, at=datetime(2030, 1, 1, 12, tzinfo=UTC))


def test_start_delivers_the_input_to_the_start_node() -> None:
    r = reading("s", 1)
    assert Router(workflow()).start(r) == [Delivery("start", r, RUN_INPUT)]


def test_routes_follow_emission_order_then_declaration_order() -> None:
    router, buffers = Router(workflow()), FanInBuffers()
    ra, rb = reading("a", 40), reading("b", 60)
    routed = router.route([Emission("b", rb), Emission("a", ra)], buffers)
    assert routed.deliveries == [
        Delivery("log", rb, "b"),
        Delivery("alarm", rb, "b"),
        Delivery("hot", ra, "a"),  # a's switch comes after its fan-in in declaration order
    ]
    assert routed.outputs == []
    assert buffers.waiting == {0: {"b": [rb], "a": [ra]}}


def test_fan_out_and_sinks() -> None:
    router, buffers = Router(workflow()), FanInBuffers()
    r = reading("x", 1)
    routed = router.route([Emission("start", r), Emission("hot", "hot"), Emission("log", "log")], buffers)
    assert routed.deliveries == [
        Delivery("a", r, "start"),
        Delivery("b", r, "start"),
        Delivery("c", r, "start"),
    ]
    assert routed.outputs == [Emission("hot", "hot"), Emission("log", "log")]


def test_none_is_not_routed() -> None:
    router, buffers = Router(workflow()), FanInBuffers()
    routed = router.route([Emission("start", None), Emission("hot", None)], buffers)
    assert routed.deliveries == [] and routed.outputs == []
    assert buffers.is_empty()


def test_switch_default_and_first_match() -> None:
    router = Router(workflow())
    cool, warm = reading("a", 10), reading("a", 35)
    assert router.route([Emission("a", cool)], FanInBuffers()).deliveries == [Delivery("cold", cool, "a")]
    assert router.route([Emission("a", warm)], FanInBuffers()).deliveries == [Delivery("hot", warm, "a")]


def test_fan_in_buffers_across_route_calls_and_delivers_in_source_order() -> None:
    router, buffers = Router(workflow()), FanInBuffers()
    ra1, ra2 = reading("a", 1), reading("a", 2)
    rb1, rc1, rc2, rb2 = reading("b", 1), reading("c", 1), reading("c", 2), reading("b", 2)

    def fan_in_deliveries(emissions: list[Emission]) -> list[Delivery]:
        return [d for d in router.route(emissions, buffers).deliveries if d.target == "agg"]

    assert fan_in_deliveries([Emission("c", rc1)]) == []
    assert fan_in_deliveries([Emission("a", ra1), Emission("a", ra2)]) == []  # a twice: queued
    assert not buffers.is_empty()
    assert fan_in_deliveries([Emission("c", rc2)]) == []
    (first,) = fan_in_deliveries([Emission("b", rb1)])
    assert first.message == [ra1, rb1, rc1]
    (second,) = fan_in_deliveries([Emission("b", rb2)])
    assert second.message == [ra2, rb2, rc2]
    assert buffers.is_empty()


def test_routing_is_deterministic() -> None:
    wf = workflow()
    emissions = [
        Emission("b", reading("b", 70)),
        Emission("a", reading("a", 5)),
        Emission("c", reading("c", 3)),
    ]
    results = [Router(wf).route(emissions, FanInBuffers()) for _ in range(3)]
    assert results[0] == results[1] == results[2]
    assert [d.target for d in results[0].deliveries] == ["log", "alarm", "cold", "agg"]


def test_codec_round_trips_deliveries_emissions_and_buffers() -> None:
    wf = workflow()
    codec, router, buffers = RoutingCodec(wf), Router(wf), FanInBuffers()
    ra, rb = reading("a", 1.5), reading("b", 2.5)
    routed = router.route([Emission("a", ra), Emission("b", rb)], buffers)

    for delivery in routed.deliveries:
        text = codec.dump_delivery(delivery).model_dump_json()
        assert codec.load_delivery(DeliveryJSON.model_validate_json(text)) == delivery

    fan_in = Delivery("agg", [ra, rb, reading("c", 3)], "c")
    text = codec.dump_delivery(fan_in).model_dump_json()
    assert json.loads(text)["message"][0] == {"sensor": "a", "value": 1.5, "at": "2030-01-01T12:00:00Z"}
    assert codec.load_delivery(DeliveryJSON.model_validate_json(text)) == fan_in

    emission = Emission("a", ra)
    text = codec.dump_emission(emission).model_dump_json()
    assert codec.load_emission(EmissionJSON.model_validate_json(text)) == emission

    dumped = json.loads(json.dumps(codec.dump_buffers(buffers)))
    assert dumped == {
        "0": {
            "a": [{"sensor": "a", "value": 1.5, "at": "2030-01-01T12:00:00Z"}],
            "b": [{"sensor": "b", "value": 2.5, "at": "2030-01-01T12:00:00Z"}],
        }
    }
    loaded = codec.load_buffers(dumped)
    assert loaded == buffers

    # routing goes on identically from the reloaded buffers
    rc = reading("c", 9)
    original = router.route([Emission("c", rc)], buffers)
    reloaded = Router(wf).route([Emission("c", rc)], loaded)
    assert original == reloaded
    assert original.deliveries == [Delivery("agg", [ra, rb, rc], "c")]


def test_empty_buffers_dump_to_nothing() -> None:
    codec = RoutingCodec(workflow())
    assert codec.dump_buffers(FanInBuffers()) == {}
    assert codec.dump_buffers(FanInBuffers({0: {"a": []}})) == {}
    assert FanInBuffers({0: {"a": []}}).is_empty()


def test_conditions_see_the_message() -> None:
    router = Router(workflow())
    routed = router.route([Emission("b", reading("b", 10))], FanInBuffers())
    assert [d.target for d in routed.deliveries] == ["log"]


@pytest.mark.parametrize("value", [30, 30.0001])
def test_switch_boundaries(value: float) -> None:
    routed = Router(workflow()).route([Emission("a", reading("a", value))], FanInBuffers())
    assert [d.target for d in routed.deliveries] == ["hot" if value > 30 else "cold"]

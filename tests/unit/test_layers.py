"""server/ is layered: a module imports only from its own layer or those below it, and no
import cycle exists between modules. The picture of it (docs/results/layers.png) is drawn
from the same graph by `python -m bench layers`."""

from bench.layers import LAYERS, back_arrows, cycles, import_graph, layer_of


def test_every_module_has_a_layer():
    graph = import_graph()
    assert len(graph) > 40
    assert all(layer_of(module) in LAYERS for module in graph)


def test_no_module_imports_from_a_layer_above_its_own():
    assert back_arrows(import_graph()) == []


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_checks_see_a_back_arrow_and_a_cycle():
    """The checks can fail: a protocol module importing the engine is caught, and so is a
    pair of modules importing each other."""
    graph = {
        "server.protocol.chat": {"server.engine.engine"},
        "server.engine.engine": {"server.engine.config"},
        "server.engine.config": {"server.engine.engine"},
    }
    assert back_arrows(graph) == [("server.protocol.chat", "server.engine.engine")]
    assert cycles(graph) == [["server.engine.config", "server.engine.engine"]]

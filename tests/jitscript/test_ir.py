"""The IR text form round-trips, the builder makes well-formed graphs, the verifier names nodes."""
import math

import pytest

import eager
from jitscript import (
    Block,
    Graph,
    IntType,
    IRError,
    ListType,
    OptionalType,
    ScriptModule,
    TensorType,
    TupleType,
    parse,
    parse_type,
    verify,
)
from jitscript.lexer import TextError

IF_GRAPH = '''graph(%x : Tensor(float32, [N, 4]), %flag : bool):
  %w : Tensor(float32, [2, 4]) = prim::param[name="fc.weight"]()
  %y : Tensor(float32, [N, 2]) = linear(%x, %w)  # model.py:12
  %zero : int = prim::constant[value=0]()
  %n : int = prim::size(%x, %zero)
  %r : Tensor(float32, [N, 2]) = prim::if(%flag)
    block0():
      %a : Tensor(float32, [N, 2]) = relu(%y)
      -> (%a)
    block1():
      -> (%y)
  return (%r, %n)
'''

LOOP_GRAPH = '''graph(%x : Tensor(float32, [3]), %n : int):
  %true : bool = prim::constant[value=True]()
  %out : Tensor(float32, [3]) = prim::loop(%n, %true, %x)
    block0(%i : int, %acc : Tensor(float32, [3])):
      %twice : Tensor(float32, [3]) = add(%acc, %acc)
      -> (%true, %twice)
  return (%out)
'''


@pytest.mark.parametrize("text", ["Tensor(float32, [N, 3, 32, 32])", "int", "float", "bool", "str", "None",
                                  "List[int]", "Tuple[Tensor(float32, [N, 10]), int]",
                                  "Optional[Tensor(float32, [N])]", "Tensor", "Tensor(int64)", "Tensor(?, [?, 3])"])
def test_type_text_round_trips(text):
    assert str(parse_type(text)) == text


def test_types_are_hashable_values():
    assert {TensorType(eager.float32, [1, "N"]), TensorType(eager.float32, (1, "N"))} == \
        {TensorType(eager.float32, (1, "N"))}
    assert IntType() != ListType(IntType())
    assert TupleType((IntType(),)) == parse_type("Tuple[int]")
    assert OptionalType(TensorType()) == parse_type("Optional[Tensor]")


def test_bad_type_names_position():
    with pytest.raises(TextError, match="unknown type 'Tensr'"):
        parse_type("List[Tensr]")


@pytest.mark.parametrize("text", [IF_GRAPH, LOOP_GRAPH])
def test_graph_text_round_trips_exactly(text):
    g = parse(text)
    assert str(g) == text
    verify(g)


def test_attribute_values_round_trip():
    text = '''graph(%x : Tensor(float32, [2, 3])):
  %c : Tensor(float64, [2, 3]) = cast[dtype=float64](%x)
  %l : Tensor(float64, [2, 3]) = clamp[min=-inf, max=1e-05](%c)
  %s : str = prim::constant[value="a \\"quoted\\" # not a comment"]()
  %p : Tensor(float64, [3, 2]) = permute[dims=(1, 0)](%l)
  %k : List[int] = prim::constant[value=[1, 2]]()
  %t : Tensor(float64, [6]) = reshape[shape=$1](%p, %k)
  return (%t, %s)
'''
    g = parse(text)
    assert str(g) == text
    cast = next(g.nodes())
    assert cast.attrs == {"dtype": eager.float64}
    clamp = list(g.nodes())[1]
    assert clamp.attrs["min"] == -math.inf and clamp.attrs["max"] == 1e-05
    assert list(g.nodes())[2].attrs["value"] == 'a "quoted" # not a comment'


def test_parse_rejects_use_before_definition_with_line():
    with pytest.raises(TextError, match=r"line 2, column \d+: value %y is used before it is defined"):
        parse("graph(%x : int):\n  %z : int = prim::neg(%y)\n  return (%z)\n")


def test_builder_names_values_uniquely():
    g = Graph()
    x = g.block.add_param(TensorType(eager.float32, ("N", 4)), "x")
    a = g.block.add_node("relu", [x], out_types=[x.type], names=["x"]).output
    b = g.block.add_node("neg", [a], out_types=[x.type], loc="m.py:3").output
    g.block.returns = [b]
    verify(g)
    assert str(g) == ('graph(%x : Tensor(float32, [N, 4])):\n'
                      '  %x.1 : Tensor(float32, [N, 4]) = relu(%x)\n'
                      '  %0 : Tensor(float32, [N, 4]) = neg(%x.1)  # m.py:3\n'
                      '  return (%0)\n')
    assert str(parse(str(g))) == str(g)


def test_verifier_names_the_node_on_unknown_attribute():
    g = parse("graph(%x : Tensor(float32, [2])):\n  %y : Tensor(float32, [2]) = relu[slope=1](%x)  # m.py:7\n"
              "  return (%y)\n")
    with pytest.raises(IRError, match=r"node %y = relu at m.py:7: unknown attribute\(s\) \['slope'\]"):
        verify(g)


def test_verifier_rejects_value_used_outside_its_block():
    g = parse(IF_GRAPH)
    if_node = [n for n in g.nodes() if n.op == "prim::if"][0]
    g.block.returns = [if_node.blocks[0].returns[0]]
    with pytest.raises(IRError, match="block returns %a, which is not defined in scope"):
        verify(g)


def test_verifier_checks_if_arity():
    g = parse(IF_GRAPH)
    if_node = [n for n in g.nodes() if n.op == "prim::if"][0]
    if_node.blocks[1].returns = []
    with pytest.raises(IRError, match=r"prim::if: block1 returns has 0 value\(s\), expected 1"):
        verify(g)


def test_verifier_checks_loop_condition_type():
    g = parse(LOOP_GRAPH.replace("-> (%true, %twice)", "-> (%i, %twice)"))
    with pytest.raises(IRError, match="body condition %i has type int, expected bool"):
        verify(g)


def test_verifier_rejects_double_definition():
    g = parse(LOOP_GRAPH)
    body = next(n for n in g.nodes() if n.op == "prim::loop").blocks[0]
    body.nodes[0].outputs[0] = g.inputs[0]
    g.inputs[0].node = body.nodes[0]
    with pytest.raises(IRError, match="defined more than once"):
        verify(g)


def test_script_module_runs_if_and_loop():
    w = eager.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, -1.0, 0.0, 0.0]])
    sm = ScriptModule(parse(IF_GRAPH, {"fc.weight": w}))
    x = eager.tensor([[1.0, 2.0, 3.0, 4.0]])
    out, n = sm(x, True)
    assert out.tolist() == [[1.0, 0.0]] and n == 1
    assert sm(x, False)[0].tolist() == [[1.0, -2.0]]
    loop = ScriptModule(parse(LOOP_GRAPH))
    assert loop(eager.tensor([1.0, 2.0, 3.0]), 3).tolist() == [8.0, 16.0, 24.0]


def test_interpreter_error_names_the_node():
    sm = ScriptModule(parse(IF_GRAPH, {"fc.weight": eager.ones(2, 5)}))
    with pytest.raises(ValueError, match="while running node %y = linear at model.py:12"):
        sm(eager.ones(1, 4), True)


def test_block_walk_visits_nested_nodes_in_order():
    ops = [n.op for n in parse(IF_GRAPH).nodes()]
    assert ops == ["prim::param", "linear", "prim::constant", "prim::size", "prim::if", "relu"]
    assert isinstance(parse(IF_GRAPH).block, Block)


def test_docs_table_lists_every_prim():
    from pathlib import Path

    from jitscript.prims import PRIMS

    doc = (Path(__file__).parents[2] / "docs" / "ir.md").read_text()
    assert all(f"| `{name}` |" in doc for name in PRIMS)


def test_string_attributes_with_newlines_and_unicode_round_trip():
    g = Graph()
    g.block.add_node("prim::raise", [], {"message": 'line one\nline "two" \\ é'}, [])
    text = str(g)
    assert len(text.splitlines()) == 3
    assert next(parse(text).nodes()).attrs["message"] == 'line one\nline "two" \\ é'


def test_verifier_checks_tuple_index_bounds():
    with pytest.raises(IRError, match=r"index 2 is out of range for Tuple\[int, int\]"):
        verify(parse("graph(%t : Tuple[int, int]):\n  %c : int = prim::tuple_index[index=2](%t)\n  return (%c)\n"))
    verify(parse("graph():\n  %c : Optional[Tensor] = prim::constant[value=None]()\n  return (%c)\n"))


def test_verifier_checks_declared_types_against_the_shape_rule():
    with pytest.raises(IRError, match=r"output %y is declared Tensor\(float32, \[2, 3\]\), but linear of "
                                      r"Tensor\(float32, \[2, 4\]\), Tensor\(float32, \[5, 4\]\) gives "
                                      r"Tensor\(float32, \[2, 5\]\)"):
        verify(parse("graph(%x : Tensor(float32, [2, 4]), %w : Tensor(float32, [5, 4])):\n"
                     "  %y : Tensor(float32, [2, 3]) = linear(%x, %w)\n  return (%y)\n"))
    with pytest.raises(IRError, match="declared Tensor\\(int64, \\[N, 5\\]\\)"):
        verify(parse("graph(%x : Tensor(float32, [N, 4]), %w : Tensor(float32, [5, 4])):\n"
                     "  %y : Tensor(int64, [N, 5]) = linear(%x, %w)\n  return (%y)\n"))
    verify(parse("graph(%x : Tensor(float32, [N, 4]), %w : Tensor(float32, [5, 4])):\n"
                 "  %y : Tensor(float32, [?, 5]) = linear(%x, %w)\n  return (%y)\n"))

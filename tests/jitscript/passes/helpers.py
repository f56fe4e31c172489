"""Text-in/text-out checking of a pass: parse, run, verify, compare the printed result."""
import textwrap

from jitscript import parse, verify


def run_pass(pass_fn, before: str, params: dict | None = None):
    """The graph of `before` after `pass_fn`, verified."""
    graph = verify(parse(textwrap.dedent(before), params))
    pass_fn(graph)
    return verify(graph)


def check_pass(pass_fn, before: str, after: str, params: dict | None = None):
    """`pass_fn` turns the graph text `before` into exactly `after`; returns the graph."""
    graph = run_pass(pass_fn, before, params)
    assert str(graph) == textwrap.dedent(after)
    return graph

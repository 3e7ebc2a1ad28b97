"""Hand-inlined hot paths cannot drift from the code they copy.

A few hot paths (channel send/receive, the scheduler's park, a goroutine's
end, go() from a goroutine, a Mutex's unlock) inline small functions by hand, because on
CPython a call costs as much as a greenlet switch's bookkeeping. Each copy sits between two markers::

    # inline gmploop._runtime.proc.goready(g)
    ...the copy...
    # inline end

``REF(ARGS) -> NAME`` says which function the copy is of, what its parameters
are bound to at this site, and, with ``-> NAME``, that the reference ends with
``return NAME`` and the copy leaves the result in ``NAME`` instead. This test
compares each copy with the reference's body by AST (comments and layout do
not matter; any change of logic does), after putting ARGS in place of the
reference's parameters. A copy that drifted fails here, in CI.
"""

from __future__ import annotations

import ast
import pathlib
import re
import textwrap

import pytest

PKG = pathlib.Path(__file__).resolve().parent.parent / "gmploop"

BEGIN = re.compile(r"^\s*# inline (?P<ref>[\w.]+)\((?P<args>.*)\)(?:\s*->\s*(?P<out>\w+))?\s*$")
END = re.compile(r"^\s*# inline end\s*$")

#: Every inlined copy, per file: a copy whose markers were removed (so that
#: it is no longer compared) or a new one that is not listed fails the count.
EXPECTED = {
    "_chan.py": {
        "gmploop._chan.ChanCore._give_to_receiver": 1,
        "gmploop._chan.ChanCore._take_from_sender": 1,
        "gmploop._runtime.proc.goready": 2,
        "gmploop._runtime.sema.acquire_sudog": 3,
        "gmploop._runtime.sema.WaitQ.enqueue": 1,
        "gmploop._runtime.sema.WaitQ.claim_first": 1,
    },
    "_runtime/mutexcore.py": {
        "gmploop._runtime.mutexcore.MutexCore._release_l": 1,
        "gmploop._runtime.mutexcore.MutexCore.try_lock": 2,
        "gmploop._runtime.mutexcore.MutexCore.unlock": 1,
    },
    "_runtime/proc.py": {
        "gmploop._runtime.proc.newproc_p": 1,
        "gmploop._runtime.runq.runqget": 1,
        "gmploop._runtime.runq.runqget_exit": 1,
    },
}


class Copy:
    def __init__(self, path: pathlib.Path, line: int, ref: str, args: str,
                 out: str | None, body: str) -> None:
        self.path, self.line, self.ref, self.args, self.out, self.body = (
            path, line, ref, args, out, body)

    def __repr__(self) -> str:
        return f"{self.path.name}:{self.line} ({self.ref})"


def find_copies(path: pathlib.Path, text: str | None = None) -> list[Copy]:
    lines = (path.read_text() if text is None else text).splitlines()
    out = []
    i = 0
    while i < len(lines):
        m = BEGIN.match(lines[i])
        if m is None:
            assert not END.match(lines[i]), f"{path.name}:{i + 1}: 'inline end' without a start"
            i += 1
            continue
        start = i
        i += 1
        while i < len(lines) and not END.match(lines[i]):
            assert not BEGIN.match(lines[i]), f"{path.name}:{i + 1}: nested inline marker"
            i += 1
        assert i < len(lines), f"{path.name}:{start + 1}: inline marker never ends"
        body = textwrap.dedent("\n".join(lines[start + 1:i]))
        out.append(Copy(path, start + 1, m["ref"], m["args"], m["out"], body))
        i += 1
    return out


def reference_def(ref: str) -> ast.FunctionDef:
    """The definition ``ref`` names (``gmploop.mod.Class.func``), read from
    its module's ``.py`` file: the source, whichever build is running (a
    compiled function has no source for inspect to find)."""
    parts = ref.split(".")
    assert parts[0] == "gmploop", ref
    for n in range(len(parts) - 1, 1, -1):
        path = PKG.joinpath(*parts[1:n]).with_suffix(".py")
        if path.is_file():
            break
    else:
        raise ImportError(ref)
    nodes: list[ast.stmt] = ast.parse(path.read_text()).body
    found: ast.AST | None = None
    for name in parts[n:]:
        found = next((d for d in nodes if isinstance(d, (ast.ClassDef, ast.FunctionDef))
                      and d.name == name), None)
        assert found is not None, f"{ref}: no {name} in {path.name}"
        nodes = found.body  # type: ignore[attr-defined]
    assert isinstance(found, ast.FunctionDef), ref
    return found


class _Subst(ast.NodeTransformer):
    def __init__(self, mapping: dict[str, ast.expr]) -> None:
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.mapping:
            assert isinstance(node.ctx, ast.Load), f"the reference assigns to its parameter {node.id}"
            return ast.copy_location(self.mapping[node.id], node)
        return node


def expected_body(copy: Copy) -> list[ast.stmt]:
    fdef = reference_def(copy.ref)
    body = list(fdef.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring
    if copy.out is not None:
        last = body[-1]
        assert isinstance(last, ast.Return) and isinstance(last.value, ast.Name) \
            and last.value.id == copy.out, f"{copy}: the reference does not end with 'return {copy.out}'"
        body = body[:-1]
    params = [a.arg for a in fdef.args.posonlyargs + fdef.args.args]
    call = ast.parse(f"f({copy.args})", mode="eval").body
    assert isinstance(call, ast.Call) and not call.keywords, copy
    assert len(call.args) == len(params), f"{copy}: {len(call.args)} arguments for {params}"
    mapping = {p: a for p, a in zip(params, call.args)
               if not (isinstance(a, ast.Name) and a.id == p)}
    mod = _Subst(mapping).visit(ast.Module(body=body, type_ignores=[]))
    return mod.body


def mismatch(copy: Copy) -> str | None:
    ref = ast.Module(body=expected_body(copy), type_ignores=[])
    if ast.dump(ref) == ast.dump(ast.parse(copy.body)):
        return None
    return (f"{copy}: the inlined copy differs from {copy.ref}\n"
            f"reference:\n{ast.unparse(ref)}\ncopy:\n{copy.body}")


ALL = [c for path in sorted(PKG.rglob("*.py")) for c in find_copies(path)]


@pytest.mark.parametrize("copy", ALL, ids=repr)
def test_inlined_copy_matches_its_reference(copy: Copy) -> None:
    assert mismatch(copy) is None, mismatch(copy)


def test_every_inlined_copy_is_listed() -> None:
    found: dict[str, dict[str, int]] = {}
    for c in ALL:
        per = found.setdefault(c.path.relative_to(PKG).as_posix(), {})
        per[c.ref] = per.get(c.ref, 0) + 1
    assert found == EXPECTED


def test_the_check_catches_a_drifted_copy() -> None:
    # The same copy as _chan.py's, with one line changed: it must not pass.
    src = textwrap.dedent("""\
        # inline gmploop._runtime.sema.acquire_sudog(g, W_CHAN_RECV) -> sg
        sg = g.sudog
        if sg is None or sg.state is not SG_CLAIMED:
            sg = g.sudog = Sudog(K_G, g)
        else:
            sg.state = SG_WAITING
        g.status = WAITING
        g.waitreason = W_CHAN_RECV
        # inline end
        """)
    (copy,) = find_copies(PKG / "_chan.py", src)
    assert mismatch(copy) is not None  # 'sg.sel = None' is missing
    fixed = src.replace("    sg.state = SG_WAITING\n", "    sg.state = SG_WAITING\n    sg.sel = None\n")
    assert fixed != src
    (copy,) = find_copies(PKG / "_chan.py", fixed)
    assert mismatch(copy) is None

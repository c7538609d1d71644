"""The part of Go's text/template that people script docker with.

Actions: ``{{.A.B}}``, ``{{$}}``, ``{{$v := …}}``, pipelines with ``|``, ``( … )``,
``{{if}}/{{else if}}/{{else}}/{{end}}``, ``{{range}}`` (with ``$i, $v :=`` and
``{{else}}``), ``{{with}}``, comments, ``{{-``/``-}}`` trimming; string, raw string,
number, ``true``/``false``/``nil`` literals. Functions: Go's builtins (``and or not len
index eq ne lt le gt ge print printf println slice``) and docker's (``json join split
lower upper title pad truncate``). Values print the way Go prints the decoded JSON:
``[a b]`` lists, ``map[k:v]`` maps, ``<nil>``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dockyard.cli import template_funcs
from dockyard.cli.template_parse import Node, Parser, Pipeline, TemplateError

__all__ = ["Template", "TemplateError", "go_str", "parse"]

go_str = template_funcs.go_str

_MISSING = template_funcs.MISSING


class Template:
    """A parsed template; ``execute(data)`` returns the text."""

    def __init__(self, source: str, funcs: Mapping[str, Callable[..., Any]] | None = None,
                 strict: bool = True) -> None:
        self.source = source
        self.funcs = dict(template_funcs.FUNCS)
        if funcs:
            self.funcs.update(funcs)
        self.strict = strict
        self.nodes, _, _ = Parser(source).parse_list(())
        self._check_funcs(self.nodes)

    def _check_funcs(self, nodes: list[Node]) -> None:
        for node in nodes:
            pipes = [node.pipe] if node.pipe else []
            while pipes:
                pipe = pipes.pop()
                for cmd in pipe.cmds:
                    for op in cmd:
                        if op[0] == "func" and op[1] not in self.funcs:
                            raise TemplateError(f'template: :1: function "{op[1]}" not defined')
                        if op[0] == "pipe":
                            pipes.append(op[1])
            self._check_funcs(node.body)
            self._check_funcs(node.alt)

    def execute(self, data: Any) -> str:
        out: list[str] = []
        self._run(self.nodes, data, [["$", data]], out)
        return "".join(out)

    def _run(self, nodes: list[Node], dot: Any, scope: list[list[Any]],
             out: list[str]) -> None:
        for node in nodes:
            if node.kind == "text":
                out.append(node.text)
                continue
            assert node.pipe is not None
            if node.kind == "action":
                value = self._pipeline(node.pipe, dot, scope)
                if not node.pipe.decl:
                    out.append(go_str(value))
            elif node.kind == "if":
                inner = list(scope)
                if template_funcs.truth(self._pipeline(node.pipe, dot, inner)):
                    self._run(node.body, dot, inner, out)
                else:
                    self._run(node.alt, dot, inner, out)
            elif node.kind == "with":
                inner = list(scope)
                value = self._pipeline(node.pipe, dot, inner)
                if template_funcs.truth(value):
                    self._run(node.body, value, inner, out)
                else:
                    self._run(node.alt, dot, inner, out)
            elif node.kind == "range":
                self._range(node, dot, scope, out)

    def _range(self, node: Node, dot: Any, scope: list[list[Any]],
               out: list[str]) -> None:
        assert node.pipe is not None
        pipe = Pipeline([], False, node.pipe.cmds)
        value = self._pipeline(pipe, dot, scope)
        items: list[tuple[Any, Any]]
        if isinstance(value, Mapping):
            items = [(k, value[k]) for k in sorted(value)]
        elif isinstance(value, (list, tuple)):
            items = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            items = [(i, i) for i in range(value)]
        elif value is None or value is _MISSING:
            items = []
        else:
            raise TemplateError(f"template: :1: range can't iterate over {go_str(value)}")
        if not items:
            self._run(node.alt, dot, list(scope), out)
            return
        for key, item in items:
            inner = list(scope)
            names = node.pipe.decl
            if len(names) == 1:
                inner.append([names[0], item])
            elif len(names) == 2:
                inner += [[names[0], key], [names[1], item]]
            self._run(node.body, item, inner, out)

    def _pipeline(self, pipe: Pipeline, dot: Any, scope: list[list[Any]]) -> Any:
        value: Any = _MISSING
        first = True
        for cmd in pipe.cmds:
            value = self._command(cmd, dot, scope, None if first else (value,))
            first = False
        if pipe.decl:
            if pipe.assign:
                for cell in reversed(scope):
                    if cell[0] == pipe.decl[0]:
                        cell[1] = value  # cells are shared with enclosing scopes
                        break
                else:
                    raise TemplateError(f"template: :1: undefined variable: {pipe.decl[0]}")
            elif len(pipe.decl) == 1:
                scope.append([pipe.decl[0], value])
        return value

    def _command(self, cmd: list[Any], dot: Any, scope: list[list[Any]],
                 piped: tuple[Any, ...] | None) -> Any:
        head = cmd[0]
        if head[0] == "func":
            args = [self._operand(op, dot, scope) for op in cmd[1:]]
            if piped is not None:
                args.append(piped[0])
            func = self.funcs[head[1]]
            _check_arity(func, args, head[1])
            try:
                return func(*args)
            except TemplateError:
                raise
            except (TypeError, ValueError, KeyError, IndexError, AttributeError) as err:
                raise TemplateError(
                    f'template: :1: executing "" at <{head[1]}>: error calling {head[1]}: {err}')
        value = self._operand(head, dot, scope)
        if callable(value):  # a method such as ps's ``{{.Label "key"}}``
            args = [self._operand(op, dot, scope) for op in cmd[1:]]
            if piped is not None:
                args.append(piped[0])
            _check_arity(value, args, _describe(head))
            return value(*args)
        if len(cmd) > 1 or piped is not None:
            raise TemplateError(f"template: :1: can't give argument to non-function "
                                f"{_describe(head)}")
        return value

    def _operand(self, op: Any, dot: Any, scope: list[list[Any]]) -> Any:
        kind = op[0]
        if kind == "lit":
            return op[1]
        if kind == "field":
            return self._fields(dot, op[1])
        if kind == "var":
            for name, value in reversed(scope):
                if name == op[1]:
                    return self._fields(value, op[2])
            raise TemplateError(f"template: :1: undefined variable: {op[1]}")
        if kind == "pipe":
            return self._fields(self._pipeline(op[1], dot, list(scope)), op[2])
        if kind == "func":
            return self._command([op], dot, scope, None)
        raise TemplateError(f"template: :1: bad operand {op!r}")

    def _fields(self, value: Any, chain: list[str]) -> Any:
        for name in chain:
            if isinstance(value, Mapping):
                if name in value:
                    value = value[name]
                elif self.strict:
                    raise TemplateError(f'template: :1: executing "" at <.{name}>: '
                                        f'map has no entry for key "{name}"')
                else:
                    value = _MISSING
            elif value is None or value is _MISSING:
                if self.strict:
                    raise TemplateError(f'template: :1: executing "" at <.{name}>: '
                                        "nil pointer evaluating interface {}." + name)
                value = _MISSING
            else:
                raise TemplateError(f'template: :1: executing "" at <.{name}>: can\'t evaluate '
                                    f"field {name} in type {template_funcs.go_type(value)}")
        return value


def _check_arity(func: Callable[..., Any], args: list[Any], name: str) -> None:
    """Go's "wrong number of args" instead of Python's TypeError text."""
    import inspect

    try:
        inspect.signature(func).bind(*args)
    except TypeError:
        raise TemplateError(f"template: :1: wrong number of args for {name}: got {len(args)}")
    except ValueError:  # no signature (builtins): let the call itself decide
        pass


def _describe(op: Any) -> str:
    if op[0] == "field":
        return "." + ".".join(op[1])
    if op[0] == "var":
        return ".".join([op[1], *op[2]])
    return go_str(op[1]) if op[0] == "lit" else str(op[1])


def parse(source: str, funcs: Mapping[str, Callable[..., Any]] | None = None,
          strict: bool = True) -> Template:
    """Parse ``source``; raise ``InvalidArgument`` naming what is wrong."""
    return Template(source, funcs, strict)

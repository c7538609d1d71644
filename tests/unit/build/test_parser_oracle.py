"""Property tests: our parser against BuildKit's own, on generated Dockerfiles.

The oracle is PyPI's ``dockerfile`` package, which wraps BuildKit's Go parser
(v0.12.5 inside dockerfile 3.4.0). That version predates two changes our target
(BuildKit 73ed6825) has, so the comparison projects them away: ENV/LABEL nodes now
carry a third "=" item, and a heredoc instruction's ``original`` no longer holds the
bodies. The generator also leaves out what the old parser read differently on
purpose: the ``check`` directive (new) and ``${VAR:-x}`` forms on heredoc lines (word
splitting changed); unit tests cover those against the target's behaviour.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dockyard.build.parser import DockerfileSyntaxError, Node, parse
from dockyard.build.parser.lines import split_command

from .conftest import CONFORMANCE, conformance_path

dockerfile = pytest.importorskip(
    "dockerfile", reason="the oracle (PyPI 'dockerfile', BuildKit's parser) is not installed")

KEYWORDS = ["FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
            "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK",
            "SHELL", "MAINTAINER", "run", "Copy", "env", "FOO"]
PIECES = ["a", "b=c", "k=v", " ", "  ", "\t", '"', "'", "\\", "`", "$x", "${y}", "=",
          "[", "]", ",", '"s"', "é", "<<EOF", "<<-EOF", "<<'EOF'", '<<"E"', "--x=1",
          "--", "#", "NONE", "CMD", "1", "[\"a\", \"b\"]", "[1]", "[\"a\"", "\u00a0"]


@st.composite
def _instruction(draw: st.DrawFn, escape: str) -> list[str]:
    keyword = draw(st.sampled_from(KEYWORDS))
    if keyword == "ONBUILD":
        keyword += " " + draw(st.sampled_from(["RUN", "COPY", "ENV", "CMD", "run"]))
    flags = draw(st.lists(st.sampled_from(["--from=a", "--chown=1:2", '--x="q r"', "--m"]),
                          max_size=2))
    # (the old parser read flags with "\\" as escape whatever the directive said)
    pieces = PIECES if escape == "\\" else [p for p in PIECES if "\\" not in p and "`" not in p]
    args = "".join(draw(st.lists(st.sampled_from(pieces), max_size=6)))
    line = " ".join([keyword, *flags, args])
    lines = [line]
    if draw(st.booleans()):  # continuation, maybe with comments or blank lines inside
        lines[-1] += draw(st.sampled_from([escape, escape + " ", " " + escape]))
        lines += draw(st.lists(st.sampled_from(["# c", "", "  ", " more", "x \\", "end"]),
                               min_size=1, max_size=3))
    if "<<" in line and draw(st.booleans()):
        lines += draw(st.lists(st.sampled_from(["body", "\tbody", "$x", ""]), max_size=2))
        lines.append(draw(st.sampled_from(["EOF", "\tEOF", "E", "other"])))
    return lines


@st.composite
def dockerfiles(draw: st.DrawFn) -> str:
    lines: list[str] = []
    directives = ["# escape=`", "# syntax=x/y", "# escape = \\", "# comment"]
    lines += draw(st.lists(st.sampled_from(directives), max_size=2))
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.integers(0, 5)) == 0:
            lines.append(draw(st.sampled_from(["", "# note", "   ", "\t# x"])))
        else:
            lines += draw(_instruction("`" if "# escape=`" in lines else "\\"))
    ending = draw(st.sampled_from(["\n", "\r\n", ""]))
    return ending.join(lines) + (ending if draw(st.booleans()) else "")


def _project_ours(node: Node) -> dict[str, Any]:
    child = node.next.children[0] if node.next is not None and node.next.children else None
    target = child if child is not None else node
    values = target.args()
    if target.value.lower() in ("env", "label"):
        values = [v for i, v in enumerate(values) if i % 3 != 2]
    return {
        "cmd": node.value,
        "sub_cmd": child.value if child is not None else None,
        "json": target.is_json,
        "flags": tuple(node.flags),
        # the binding hands strings over as C strings: they end at the first NUL
        "value": tuple(v.split("\x00")[0] for v in values),
        "lines": (node.start_line, node.end_line),
        # the binding reads an ONBUILD's heredocs from its inner instruction, where
        # BuildKit never puts them (they hang on the ONBUILD node, as here)
        "heredocs": () if child is not None else tuple(
            (h.name, h.content) for h in node.heredocs),
    }


def _project_oracle(cmd: Any) -> dict[str, Any]:
    return {
        "cmd": cmd.cmd,
        "sub_cmd": cmd.sub_cmd,
        "json": cmd.json,
        "flags": tuple(cmd.flags),
        "value": tuple(cmd.value),
        "lines": (cmd.start_line, cmd.end_line),
        "heredocs": tuple((h.name, h.content) for h in cmd.heredocs),
    }


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dockerfiles())
@example("FROM x\nRUN a \\\n# c\n\n b\n")
@example("# escape=`\nRUN a `\n b\nCOPY <<EOF <<-E2 /x\nhi\nEOF\n\tyo\n\tE2\n")
@example('ENV a="b c" d=e\nLABEL x y z\nCMD ["a", "b"\nHEALTHCHECK --x=1 CMD ["a"]\n')
def test_parser_agrees_with_buildkit(text: str) -> None:
    try:
        want = [_project_oracle(c) for c in dockerfile.parse_string(text)]
    except dockerfile.GoParseError as err:
        try:
            accepted = parse(text)
        except DockerfileSyntaxError:
            return
        # Only the old decoder's leniency may make it fail where we do not: it saw
        # ["a", 1] in '["a", 1]x' and refused the non-string, we fall back to shell form.
        assert "comprised of strings only" in str(err)
        assert any(_json_with_trailing_text(n) for n in accepted.ast.children), text
        return
    except UnicodeDecodeError:
        # BuildKit cut a UTF-8 sequence in two (HEALTHCHECK and flags go byte by byte,
        # and U+00A0's second byte is a space to Go); the binding cannot decode that.
        # We must have cut it the same way: our text then holds an escaped lone byte.
        got = [_project_ours(n) for n in parse(text).ast.children]
        assert any(_has_lone_byte(v) for c in got for v in (*c["value"], *c["flags"]))
        return
    try:
        tree = parse(text)
    except DockerfileSyntaxError:
        # A heredoc opened after what the old parser took for a JSON array.
        originals = [c.original for c in dockerfile.parse_string(text) if c.json]
        assert any(_json_text_with_trailing(o.split("\n")[0]) for o in originals), text
        return
    got = [_project_ours(n) for n in tree.ast.children]
    if len(got) != len(want):
        # Only a heredoc opened after such an array can make us take more lines.
        assert any(_json_with_trailing_text(n) for n in tree.ast.children), text
        return
    for ours, theirs, node in zip(got, want, tree.ast.children, strict=True):
        if theirs["json"] and not ours["json"]:
            # The old parser read a JSON array with a streaming decoder that ignored
            # text after it; the target rejects that and falls back to the shell form.
            assert _json_with_trailing_text(node)
            continue
        assert ours == theirs


def _has_lone_byte(text: str) -> bool:
    return any(0xDC80 <= ord(ch) <= 0xDCFF for ch in text)


def _json_with_trailing_text(node: Node) -> bool:
    target = node.next.children[0] if node.next is not None and node.next.children else node
    if target.is_json:
        return False
    if target.value.lower() == "healthcheck":  # the shell form sits after the type word
        return len(target.args()) > 1 and _json_prefix_with_trailing(target.args()[1])
    return _json_text_with_trailing(target.original)


def _json_text_with_trailing(original: str) -> bool:
    cmd, _, rest = split_command(original, "\\")
    if cmd.lower() == "onbuild":
        cmd, _, rest = split_command(rest, "\\")
    if cmd.lower() == "healthcheck":
        rest = rest.partition(" ")[2].lstrip()
    return _json_prefix_with_trailing(rest)


def _json_prefix_with_trailing(rest: str) -> bool:
    rest = rest.lstrip()
    try:
        _, end = json.JSONDecoder().raw_decode(rest)
    except ValueError:
        return False
    return bool(rest[end:].strip())


def _conformance_files() -> list[str]:
    folder = CONFORMANCE / "buildkit-dockerfile" / "parser-testfiles"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else ["<missing>"]


@pytest.mark.parametrize("case", _conformance_files())
def test_conformance_files_agree_with_buildkit(case: str) -> None:
    folder = conformance_path("buildkit-dockerfile", "parser-testfiles", case)
    text = (folder / "Dockerfile").read_bytes().decode("utf-8", "surrogateescape")
    test_parser_agrees_with_buildkit.hypothesis.inner_test(text)  # type: ignore[attr-defined]

"""The parser beyond the conformance files: directives, continuations, heredocs, lines."""

from __future__ import annotations

import pytest

from dockyard.build.parser import (
    DirectiveParser,
    DockerfileSyntaxError,
    Heredoc,
    detect_syntax,
    heredocs_from_line,
    parse,
    parse_heredoc,
)
from dockyard.build.parser.parser import MAX_LINE_BYTES


def dump(text: str | bytes) -> list[str]:
    return parse(text).ast.dump().splitlines()


def lines(text: str) -> list[tuple[int, int]]:
    return [(n.start_line, n.end_line) for n in parse(text).ast.children]


# --- hostile input -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "message", "line"), [
    ("", "file with no instructions", 0),
    ("# just a comment\n\n", "file with no instructions", 2),
    ("# escape=x\nFROM a\n", "invalid escape token 'x' does not match ` or \\", 0),
    ("# escape=`\n# escape=\\\nFROM a\n", "only one escape parser directive can be used", 1),
    ("# syntax=a\n# SYNTAX=b\nFROM a\n", "only one syntax parser directive can be used", 1),
    ("FROM a\nRUN <<EOF\nnever closed\n", "unterminated heredoc", 2),
    ('FROM a\nCMD ["a", 1]\n', "arrays must be comprised of strings only", 2),
    ('FROM a\nRUN ["a", null]\n', "arrays must be comprised of strings only", 2),
    ('FROM a\nCOPY [["a"], "b"]\n', "arrays must be comprised of strings only", 2),
    ("FROM a\nENV x\n", "ENV must have two arguments", 2),
    ("FROM a\nLABEL k=v x\n", "syntax error - can't find = in \"x\"", 2),
    ("FROM a\nENV \\\n a=b \\\n c\n", "can't find = in \"c\"", 2),
])
def test_syntax_errors_name_file_and_line(text: str, message: str, line: int) -> None:
    with pytest.raises(DockerfileSyntaxError) as info:
        parse(text, filename="app/Dockerfile.dev")
    err = info.value
    assert message in str(err)
    assert err.start_line == line
    assert str(err).startswith(f"app/Dockerfile.dev:{line}: ")


def test_lone_escape_line_is_an_empty_instruction() -> None:
    # BuildKit keeps it (and the instruction checker later refuses it).
    assert dump("\n\n\\\n") == ['("")']
    assert lines("\n\n\\\n") == [(3, 3)]


def test_error_spans_continuation_lines() -> None:
    with pytest.raises(DockerfileSyntaxError) as info:
        parse("FROM a\nENV \\\n a=b \\\n c\n")
    assert (info.value.start_line, info.value.end_line) == (2, 4)


def test_too_long_line() -> None:
    with pytest.raises(DockerfileSyntaxError, match="max allowed size of 65535"):
        parse("FROM a\nRUN " + "x" * MAX_LINE_BYTES + "\n")


# --- lines and continuations ---------------------------------------------------------------

def test_line_numbers_with_continuations_comments_and_blanks() -> None:
    text = "# c\n\nFROM a\nRUN a \\\n  # inside\n\n  b\nCMD x\n"
    assert lines(text) == [(3, 3), (4, 7), (8, 8)]
    assert dump(text)[1] == '(run "a   b")'


def test_empty_continuation_line_warns() -> None:
    result = parse("FROM a\nRUN a \\\n\n b\n")
    assert [w.short for w in result.warnings] == ["Empty continuation line found in: RUN a  b"]


def test_bom_crlf_and_trailing_continuation() -> None:
    assert dump(b"\xef\xbb\xbfFROM a\r\nRUN x \\\r\n  y\r\n") == ['(from "a")', '(run "x   y")']
    assert dump("FROM a\nRUN x \\") == ['(from "a")', '(run "x")']


def test_escaped_escape_is_not_a_continuation() -> None:
    assert dump("FROM a\nRUN x \\\\\nCMD y\n") == ['(from "a")', '(run "x \\\\\\\\")', '(cmd "y")']


def test_backtick_escape_directive() -> None:
    text = "# escape=`\nFROM a\nRUN dir c:\\ `\n  /b\n"
    result = parse(text)
    assert result.escape_token == "`"
    assert result.ast.children[1].args() == ["dir c:\\   /b"]


def test_directives_only_at_top_and_case_insensitive() -> None:
    result = parse("# Syntax = docker/dockerfile:1 \n#ESCAPE=`\nFROM a\n# escape=\\\nRUN x `\n y\n")
    assert result.escape_token == "`"
    assert result.ast.children[1].args() == ["x  y"]
    parser = DirectiveParser()
    assert parser.parse_line("# check=skip=all;error=true") is not None
    assert parser.parse_line("# unknown=1") is None
    assert parser.parse_line("# escape=`") is None  # directives are over


def test_detect_syntax_variants() -> None:
    found = detect_syntax("#!/usr/bin/env x\n# syntax=docker/dockerfile:1.7 ignored\nFROM a\n")
    assert found is not None and found.value == "docker/dockerfile:1.7 ignored"
    assert found.line == 2
    found = detect_syntax("// syntax = a/b\nFROM a\n")
    assert found is not None and found.value == "a/b"
    found = detect_syntax('{"syntax": "c/d"}')
    assert found is not None and found.value == "c/d"
    assert detect_syntax("FROM a\n# syntax=late\n") is None


def test_directive_lines_are_not_comments() -> None:
    result = parse("# syntax=x\n# about a\nFROM a\n")
    assert result.ast.children[0].prev_comment == ["about a"]


# --- heredocs -----------------------------------------------------------------------------

@pytest.mark.parametrize(("word", "want"), [
    ("<<EOF", Heredoc("EOF", 0, True, False)),
    ("<<-EOF", Heredoc("EOF", 0, True, True)),
    ("<<'EOF'", Heredoc("EOF", 0, False, False)),
    ('<<"EOF"', Heredoc("EOF", 0, False, False)),
    ("<<E'O'F", Heredoc("EOF", 0, False, False)),
    ("2<<ERR", Heredoc("ERR", 2, True, False)),
    ("<< EOF", Heredoc("EOF", 0, True, False)),
    ("<<", None), ("<<EOF x", None), ("x<<EOF", None), ("<<<EOF", None),
])
def test_parse_heredoc(word: str, want: Heredoc | None) -> None:
    assert parse_heredoc(word) == want


def test_several_heredocs_on_one_line() -> None:
    docs = heredocs_from_line("COPY <<A <<-'B' /dst/")
    assert [(d.name, d.chomp, d.expand) for d in docs] == [("A", False, True), ("B", True, False)]
    text = "FROM a\nCOPY <<A <<-'B' /dst/\none\nA\n\ttwo $x\n\tB\nRUN x\n"
    node = parse(text).ast.children[1]
    assert [(h.name, h.content) for h in node.heredocs] == [("A", "one\n"), ("B", "\ttwo $x\n")]
    assert (node.start_line, node.end_line) == (2, 6)
    assert lines(text)[2] == (7, 7)


def test_heredoc_only_for_run_copy_add_and_onbuild() -> None:
    assert parse("FROM a\nCMD <<EOF\n").ast.children[1].heredocs == []
    assert parse('FROM a\nRUN ["<<EOF"]\n').ast.children[1].heredocs == []
    node = parse("FROM a\nONBUILD RUN <<EOF\nx\nEOF\n").ast.children[1]
    assert [h.content for h in node.heredocs] == ["x\n"]


def test_heredoc_crlf_terminator_and_body_kept_verbatim() -> None:
    node = parse("FROM a\r\nRUN <<EOF\r\n  a \\\r\n# not a comment\r\nEOF\r\n").ast.children[1]
    assert node.heredocs[0].content == "  a \\\r\n# not a comment\r\n"


def test_unknown_instruction_parses_with_empty_argument() -> None:
    assert dump("FROM a\nFOO bar baz\n")[1] == '(foo "")'


def test_json_fallbacks() -> None:
    assert dump('CMD ["a", "b"\n') == ['(cmd "[\\"a\\", \\"b\\"")']
    assert dump("CMD ['a']\n") == ['(cmd "[\'a\']")']
    assert dump('CMD ["a"] x\n') == ['(cmd "[\\"a\\"] x")']
    assert dump("CMD [NaN]\n") == ['(cmd "[NaN]")']
    assert dump("CMD [1e999]\n") == ['(cmd "[1e999]")']
    assert dump('CMD ["\\ud800"]\n') == ['(cmd "\ufffd")']
    assert dump("CMD []\n") == ["(cmd)"]


def test_flags_read_bytes_like_buildkit() -> None:
    # Each UTF-8 byte of a flag is read on its own, as Go's byte loop does.
    node = parse("FROM a\nCOPY --from=é x y\n").ast.children[1]
    assert node.flags == ["--from=\u00c3\u00a9"]
    node = parse('FROM a\nCOPY --chown="a b" --x=\\"q x y\n').ast.children[1]
    assert node.flags == ["--chown=a b", '--x="q']


def test_dump_quotes_like_go() -> None:
    out = dump("FROM a\nRUN \x01\u00e9\u200b\t\"\\x\n")[1]
    assert out == '(run "\\x01é\\u200b\\t\\"\\\\x")'


def test_undecodable_bytes_in_errors_print_as_escapes() -> None:
    with pytest.raises(DockerfileSyntaxError) as info:
        parse(b"FROM a\nENV \xff\n")
    assert str(info.value) == "Dockerfile:2: ENV must have two arguments"
    from dockyard.build.instructions import parse_stages

    with pytest.raises(DockerfileSyntaxError) as info2:
        parse_stages(parse(b"FROM a\nFO\xffO x\n").ast)
    assert "unknown instruction: FO\\xffO" in str(info2.value)
    str(info2.value).encode("utf-8")  # printable

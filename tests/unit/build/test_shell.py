"""Word expansion: every form, the quirks docker users meet, and bash as a cross-check."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.build.shell import ExpansionError, Lex

ENV = {"A": "abcabc", "P": "/usr/local/bin", "E": "", "S": "a b  c", "N": "x*y?z"}


@pytest.mark.parametrize(("word", "want"), [
    # plain references
    ("$A", "abcabc"), ("${A}", "abcabc"), ("x${A}y", "xabcabcy"), ("$A.x", "abcabc.x"),
    ("$UNSET", ""), ("${UNSET}", ""), ("$", "$"), ("a$", "a$"), ("$-x", "x"), ("$_", ""),
    # defaults and alternatives
    ("${UNSET:-d}", "d"), ("${E:-d}", "d"), ("${A:-d}", "abcabc"),
    ("${UNSET-d}", "d"), ("${E-d}", ""), ("${A-d}", "abcabc"),
    ("${UNSET:+r}", ""), ("${E:+r}", ""), ("${A:+r}", "r"),
    ("${UNSET+r}", ""), ("${E+r}", "r"), ("${A+r}", "r"),
    ("${UNSET:-${A}}", "abcabc"), ("${UNSET:-a b}", "a b"), ("${UNSET:-'q'}", "q"),
    ("${UNSET:-\"$A\"}", "abcabc"),
    # required
    ("${A:?msg}", "abcabc"), ("${A?msg}", "abcabc"), ("${E?msg}", ""),
    # prefix and suffix removal
    ("${A#a}", "bcabc"), ("${A#*b}", "cabc"), ("${A##*b}", "c"), ("${A#x}", "abcabc"),
    ("${A%c}", "abcab"), ("${A%b*}", "abca"), ("${A%%b*}", "a"), ("${A%x}", "abcabc"),
    ("${P##*/}", "bin"), ("${P%/*}", "/usr/local"), ("${P#/*/}", "local/bin"),
    ("${A#?}", "bcabc"), ("${A%??}", "abca"), ("${N#x\\*}", "y?z"), ("${N%\\?z}", "x*y"),
    ("${UNSET#x}", ""), ("${A#}", "abcabc"),
    # substitution
    ("${A/b/X}", "aXcabc"), ("${A//b/X}", "aXcaXc"), ("${A/b*/X}", "aX"),
    ("${A//?/-}", "------"), ("${A/x/y}", "abcabc"), ("${A//b/}", "acac"),
    ("${P//\\//:}", ":usr:local:bin"), ("${A/c/\\}}", "ab\\}abc"), ("${UNSET/a/b}", ""),
    # The replacement is expanded first ($0 is never set), keeps its escapes, and then,
    # for "//" only, goes through Go's Regexp.Expand, where "$0" is the match.
    ("${A//b/<$0>}", "a<>ca<>c"), ("${A//b/<\\$0>}", "a<\\b>ca<\\b>c"),
    ("${A/b/<\\$0>}", "a<\\$0>cabc"), ("${A//b/$$}", "acac"), ("${A//b*/[${0}]}", "a[]"),
    # quotes and escapes
    ("'$A'", "$A"), ('"$A"', "abcabc"), ("\\$A", "$A"), ('"\\$A"', "$A"), ("a\\ b", "a b"),
    ('"a\\nb"', "a\\nb"), ("'a\\'", "a\\"), ('"\'$A\'"', "'abcabc'"), ("\\\\", "\\"),
    ('"\\\\"', "\\"), ('"\\"x"', '"x'), ("a\\", "a"),
    # names
    ("$A_B", ""), ("${A}_B", "abcabc_B"), ("$1a", "a"), ("$10", ""), ("$@", ""), ("$é", ""),
])
def test_expansion_forms(word: str, want: str) -> None:
    assert Lex().process_word(word, ENV) == want


@pytest.mark.parametrize(("word", "message"), [
    ("${}", "bad substitution"), ("${:-a}", "bad substitution"), ("${{A}", "bad substitution"),
    ("${A", "unsupported modifier (\ufffd) in substitution"), ("${A:-x", "missing '}'"),
    ("${A/x", "missing '/' in ${}"),
    ("${A/x/y", "missing '}'"), ("${A:=x}", "unsupported modifier (:=) in substitution"),
    ("${A:#x}", "unsupported modifier (:#) in substitution"), ("${A*}", "unsupported modifier"),
    ("${UNSET:?}", "UNSET: is not allowed to be unset"),
    ("${E:?}", "E: is not allowed to be empty"),
    ("${UNSET?must be set}", "UNSET: must be set"), ("${E:?give E}", "E: give E"),
    ("'abc", "matching single-quote"), ('"abc', "matching double-quote"),
    ("${A#\\x}", "invalid escape"),
])
def test_expansion_errors_name_the_word(word: str, message: str) -> None:
    with pytest.raises(ExpansionError) as info:
        Lex().process_word(word, ENV)
    assert message in str(info.value)
    assert str(info.value).startswith("failed to process ")


def test_backtick_escape() -> None:
    lex = Lex("`")
    assert lex.process_word("a`$A b\\c", ENV) == "a$A b\\c"
    assert lex.process_word('"`"x"', ENV) == '"x'


def test_bad_escape_token() -> None:
    with pytest.raises(Exception, match="escape token"):
        Lex("x")


def test_words_split_outside_quotes() -> None:
    lex = Lex()
    assert lex.process_words("a $S 'c d' \"$S\"", ENV) == ["a", "a", "b", "c", "c d", "a b  c"]
    assert lex.process_words("  ", ENV) == []
    assert lex.process_words("a\\ b c", ENV) == ["a b", "c"]


def test_words_quirk_of_nested_expansion() -> None:
    # BuildKit shares one word buffer across nesting: what came before ${X:-y} in the
    # same word is dropped from the words (the single-string result keeps it).
    lex = Lex()
    assert lex.process_words("pre${UNSET:-d}post", ENV) == ["dpost"]
    assert lex.process_word("pre${UNSET:-d}post", ENV) == "predpost"


def test_matches_and_unmatched() -> None:
    result = Lex().process("${A} $UNSET ${E:-x} ${OTHER+y}", ENV)
    assert result.matched == {"A", "E"}
    assert result.unmatched == {"UNSET", "OTHER"}


def test_skip_unset_env_keeps_references() -> None:
    lex = Lex(skip_unset_env=True)
    assert lex.process_word("$A $X ${X} ${X:-d} ${X/a/b}", ENV) == (
        "abcabc $X ${X} ${X:-d} ${X/a/b}")


def test_raw_quotes_and_escapes() -> None:
    assert Lex(raw_quotes=True).process_word("'a'\"b\"", ENV) == "'a'\"b\""
    assert Lex(raw_escapes=True).process_word("a\\b", ENV) == "a\\b"
    assert Lex(skip_process_quotes=True).process_word("'$A'", ENV) == "'abcabc'"


def test_heredoc_marker_is_kept() -> None:
    assert Lex().process_words("cat <<  EOF >x", ENV) == ["cat", "<<  EOF", ">x"]
    assert Lex().process_word("a<b", ENV) == "a<b"


# --- bash as an independent check of the pattern forms -----------------------------------

BASH = shutil.which("bash")
SAFE = st.text(alphabet="ab/.-_", max_size=8)
PATTERN = st.text(alphabet="ab/.*?", max_size=4)


def _bash(script: str, value: str) -> str:
    assert BASH is not None
    out = subprocess.run([BASH, "--norc", "--noprofile", "-c", script],
                         env={"V": value, "LC_ALL": "C.UTF-8"}, capture_output=True,
                         text=True, check=True)
    return out.stdout


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
@settings(max_examples=150, deadline=None)
@given(SAFE, st.sampled_from(["#", "##", "%", "%%"]), PATTERN)
def test_trim_forms_agree_with_bash(value: str, op: str, pattern: str) -> None:
    word = "${V" + op + pattern + "}"
    assert Lex().process_word(word, {"V": value}) == _bash(f'printf %s "{word}"', value)


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
@settings(max_examples=150, deadline=None)
@given(SAFE, st.sampled_from(["/", "//"]), st.text(alphabet="ab.*?", min_size=1, max_size=4),
       st.text(alphabet="xy", max_size=3))
def test_replace_forms_agree_with_bash(value: str, op: str, pattern: str, repl: str) -> None:
    word = "${V" + op + pattern + "/" + repl + "}"
    assert Lex().process_word(word, {"V": value}) == _bash(f'printf %s "{word}"', value)


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["", "v", "a b"]), st.booleans(),
       st.sampled_from([":-", "-", ":+", "+"]), st.text(alphabet="xy ", max_size=3))
def test_default_forms_agree_with_bash(value: str, is_set: bool, op: str, word: str) -> None:
    expr = "${V" + op + word + "}"
    env = {"V": value} if is_set else {}
    script = f'printf %s "{expr}"' if is_set else f'unset V; printf %s "{expr}"'
    assert Lex().process_word(expr, env) == _bash(script, value)

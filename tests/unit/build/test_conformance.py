"""BuildKit's own parser and shell-lexer test data, replayed against our front end."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.build.parser import DockerfileSyntaxError, parse
from dockyard.build.shell import ExpansionError, Lex

from .conftest import CONFORMANCE, conformance_path

BUILDKIT = CONFORMANCE / "buildkit-dockerfile"


def _cases(sub: str) -> list[str]:
    folder = BUILDKIT / sub
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else ["<missing>"]


def test_conformance_data_is_complete() -> None:
    assert len(_cases("parser-testfiles")) == 33
    assert len(_cases("parser-testfiles-negative")) == 4


@pytest.mark.parametrize("case", _cases("parser-testfiles"))
def test_parser_reproduces_buildkit_dump(case: str) -> None:
    folder = conformance_path("buildkit-dockerfile", "parser-testfiles", case)
    result = parse((folder / "Dockerfile").read_bytes())
    assert result.ast.dump() + "\n" == (folder / "result").read_text(encoding="utf-8")


@pytest.mark.parametrize("case", _cases("parser-testfiles-negative"))
def test_parser_rejects_negative_case(case: str) -> None:
    folder = conformance_path("buildkit-dockerfile", "parser-testfiles-negative", case)
    with pytest.raises(DockerfileSyntaxError) as info:
        parse((folder / "Dockerfile").read_bytes(), filename=f"{case}/Dockerfile")
    assert str(info.value).startswith(f"{case}/Dockerfile:")


def _env_var_lines(path: Path) -> list[tuple[int, str, str]]:
    cases = []
    for no, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if line.startswith("#"):
            continue
        line = line.lstrip(" \t")
        if not line:
            continue
        platform, source, expected = (w.strip() for w in line.split("|"))
        assert platform in ("A", "U", "W"), f"line {no}: bad platform {platform!r}"
        if platform != "W":
            cases.append((no, source, expected))
    return cases


def test_env_var_test_all_unix_lines() -> None:
    path = conformance_path("buildkit-dockerfile", "envVarTest")
    env = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": ""}
    lex = Lex()
    cases = _env_var_lines(path)
    assert len(cases) == 228
    failures = []
    for no, source, expected in cases:
        try:
            got = lex.process_word(source, env)
        except ExpansionError:
            got = "error"
        if got != expected:
            failures.append(f"line {no}: {source!r}: want {expected!r}, got {got!r}")
    assert not failures, "\n".join(failures)


def test_words_test_all_lines() -> None:
    path = conformance_path("buildkit-dockerfile", "wordsTest")
    env: dict[str, str] = {}
    lex = Lex()
    checked = 0
    failures = []
    for no, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if line.startswith("#") or not line:
            continue
        if line.startswith("ENV "):
            key, _, value = line[3:].lstrip(" ").partition("=")
            env[key] = value
            continue
        source, expected = line.split("|")
        try:
            got = lex.process_words(source.strip(), env)
        except ExpansionError:
            got = ["error"]
        checked += 1
        if got != expected.lstrip(" ").split(","):
            failures.append(f"line {no}: {source!r}: got {got!r}")
    assert checked == 24 and not failures, "\n".join(failures)

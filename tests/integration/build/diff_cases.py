"""More Dockerfiles for the differential test against docker 20.10 + BuildKit.

A case maps context paths to text, with a few markers that ``write_case`` understands:
a name ending in ``/`` is an empty directory, a value ``@link:TARGET`` a symlink,
``@chmod`` lists ``path=octal`` modes, ``@args`` the ``--build-arg`` values both
builders get, and ``Dockerfile.docker`` (when present) is what docker builds instead
of ``Dockerfile``: the documented equivalent of syntax docker 20.10's built-in
frontend lacks (heredocs need dockerfile:1.4, which it would have to pull), and
``Dockerfile.parent`` (when present) is built first by both, as ``onbuild-parent:1``.
"""

from __future__ import annotations

import os
from pathlib import Path

MORE_CASES: dict[str, dict[str, str]] = {
    "stages-by-name-and-index": {
        "Dockerfile": (
            "FROM busybox AS first\nRUN mkdir /made && echo one > /made/one\n"
            "FROM busybox\nRUN echo two > /two && chmod 0640 /two\n"
            "FROM busybox AS unused\nRUN exit 3\n"
            "FROM first AS third\nRUN echo three >> /made/one\n"
            "FROM busybox\nCOPY --from=0 /made /by-index/\nCOPY --from=1 /two /two\n"
            "COPY --from=first /made/one /by-name\nCOPY --from=third /made/ /third/\n"),
    },
    "arg-build-args": {
        "@args": "GLOBAL=from-cli STAGE_ARG=cli-stage UNUSED=x",
        "Dockerfile": (
            "ARG GLOBAL=default-global\nARG TAG=latest\nARG NOT_REDECLARED=nope\n"
            "FROM busybox:${TAG} AS a\nARG GLOBAL\nARG STAGE_ARG=stage-default\n"
            "ARG DEFAULTED=kept\n"
            "RUN echo \"$GLOBAL|$STAGE_ARG|$DEFAULTED|$NOT_REDECLARED|$TAG\" > /a.txt\n"
            "LABEL g=$GLOBAL s=$STAGE_ARG n=x${NOT_REDECLARED}x\n"
            "FROM busybox\nARG GLOBAL=stage-default\nARG TARGETARCH\nARG TARGETOS\n"
            "RUN echo \"$GLOBAL $TARGETOS/$TARGETARCH\" > /b.txt\n"
            "COPY --from=a /a.txt /\nENV FROM_ARG=$GLOBAL\n"),
    },
    "copy-wildcards": {
        "Dockerfile": (
            "FROM busybox\nCOPY *.txt /w/txt/\nCOPY [ab].c /w/c/\nCOPY ?.md /w/md/\n"
            "COPY sub/*/f /w/deep/\nCOPY dir* /w/dirs/\nCOPY s*b/ /w/sub/\n"),
        "a.txt": "a", "b.txt": "b", "a.c": "ac", "b.c": "bc", "c.c": "cc",
        "x.md": "x", "xy.md": "xy", "sub/one/f": "f1", "sub/two/g": "g2",
        "dir1/in1": "1", "dir2/in2": "2", "dir2/nested/n": "n",
    },
    "copy-dirs-and-dests": {
        "Dockerfile": (
            "FROM busybox\nCOPY tree /plain\nCOPY tree/ /slash/\nCOPY tree /etc/\n"
            "COPY a.txt /renamed\nCOPY a.txt /tmp\nCOPY a.txt /newdir/\n"
            "COPY tree/sub /etc/sub-merged\nCOPY tree/sub /etc/sub-merged\n"
            "COPY a.txt /etc/passwd2\nCOPY dot/. /dot/\nCOPY tree/./sub/.. /dotdot/\n"),
        "a.txt": "a\n", "tree/top": "t", "tree/sub/inner": "i", "tree/sub/more/deep": "d",
        "dot/x": "x",
    },
    "copy-owners-and-modes": {
        "Dockerfile": (
            "FROM busybox\nCOPY --chown=nobody a.txt /o/name-only\n"
            "COPY --chown=tester:users a.txt /o/names\n"
            "COPY --chown=1000:nogroup a.txt /o/id-and-name\n"
            "COPY --chown=daemon:2000 tree /o/tree/\n"
            "COPY --chown=4242:4343 tree /o/ids/\n"
            "COPY --chmod=755 a.txt /o/exec\nCOPY --chmod=0700 tree /o/private/\n"
            "COPY --chown=tester --chmod=640 exec.sh /o/both.sh\nCOPY exec.sh secret /o/kept/\n"),
        "@chmod": "exec.sh=755 secret=600 tree/sub=750",
        "a.txt": "a\n", "exec.sh": "#!/bin/sh\n", "secret": "s", "tree/f": "f",
        "tree/sub/g": "g",
    },
    "context-links-and-empty-dirs": {
        "Dockerfile": (
            "FROM busybox\nCOPY links /links/\nCOPY to-file /followed\nCOPY to-dir /dir-via-link/\n"
            "COPY empty /empty/\nCOPY holder/ /holder/\nCOPY holder /etc/holder\n"),
        "real/file": "content\n", "real/other": "o",
        "links/rel": "@link:../real/file", "links/abs": "@link:/etc/passwd",
        "links/dangling": "@link:nowhere", "links/plain": "p",
        "to-file": "@link:real/file", "to-dir": "@link:real",
        "empty/": "", "holder/inner-empty/": "", "holder/f": "f",
    },
    "run-changes-base": {
        "Dockerfile": (
            "FROM busybox\nRUN rm -rf /home/tester /etc/group && mkdir -p /var/new && "
            "echo x > /var/new/x\nRUN rm -rf /var/new && mkdir /var/new && echo y > /var/new/y\n"
            "RUN chmod 0700 /root && chown 1000:100 /var && ln /bin/busybox /bin/hard\n"
            "RUN mkdir -p /a/b/c && touch /a/b/c/d && rm -rf /a/b && mkfifo /fifo\n"),
    },
    "add-tars-and-files": {
        "Dockerfile": (
            "FROM busybox\nADD plain.tar /etc/\nADD archive.tar.xz /xz\nADD archive.tar.bz2 /bz2/\n"
            "ADD not-a-tar.tar /copied/\nADD *.tgz /globbed/\nADD --chmod=0755 a.txt /run.sh\n"
            "ADD dir /added-dir/\nADD plain.tar /as-file/plain.tar/\n"),
        "a.txt": "a\n", "not-a-tar.tar": "this is text\n", "dir/x": "x",
    },
    "user-and-workdir": {
        "Dockerfile": (
            "FROM busybox\nUSER tester\nWORKDIR /made/by/tester\nCOPY a.txt .\n"
            "USER 4000:4001\nWORKDIR sub\nUSER nobody:nogroup\nWORKDIR /made\n"
            "USER root\nWORKDIR /root-owned/x\nRUN pwd > /pwd\n"
            "USER tester\nRUN touch /home/tester/t && id > /home/tester/id\n"),
        "a.txt": "a\n",
    },
    "env-forms": {
        "Dockerfile": (
            "FROM busybox\nENV LEGACY value with spaces\nENV A=1 B=\"quoted $A\" C='single $A'\n"
            "ENV D=\\$A E=${A:-x}${MISSING:-fallback} F=${A:+set}${MISSING:+no}\n"
            "ENV PATH=$PATH:/extra DIR=/envdir PORT=8080 U=nobody SIG=SIGUSR1\n"
            "ENV A=2 G=$A\nWORKDIR $DIR\nCOPY a.txt ${DIR}/sub/\nEXPOSE $PORT\n"
            "LABEL from.env=\"$B\" other=${E}\nSTOPSIGNAL $SIG\nVOLUME $DIR/vol\n"
            "RUN echo \"$A $B $C $D $E $F $G $PATH\" > /env.txt\nUSER $U\n"),
        "a.txt": "a\n",
    },
    "onbuild-child-stage": {
        "Dockerfile": (
            "FROM busybox AS parent\nONBUILD COPY a.txt /onbuild/\n"
            "ONBUILD RUN echo triggered > /onbuild/ran\nONBUILD ENV TRIGGERED=yes\n"
            "RUN echo parent > /parent\n"
            "FROM parent AS child\nRUN cat /onbuild/ran > /child-saw\n"
            "FROM child\nRUN echo grandchild > /gc\n"),
        "a.txt": "a\n",
    },
    "config-instructions": {
        "Dockerfile": (
            "FROM busybox AS base\nHEALTHCHECK --interval=30s --timeout=3s --start-period=10s "
            "--retries=2 CMD [\"/bin/true\", \"x\"]\nCMD [\"base\"]\n"
            "LABEL multi=\"line one \\\n  line two\" \"spaced key\"=v\nEXPOSE 8000-8002 9/udp\n"
            "VOLUME [\"/a\", \"/b\"]\nSTOPSIGNAL 9\n"
            "FROM base\nHEALTHCHECK NONE\nENTRYPOINT exec /bin/sh\nSHELL [\"/bin/sh\", \"-xc\"]\n"
            "RUN echo with-x > /shell-x\nLABEL multi=override\nMAINTAINER someone\n"
            "FROM base AS cmd-after-entrypoint\nENTRYPOINT [\"/bin/echo\"]\nCMD echo shell-cmd\n"),
    },
    "heredocs": {
        "Dockerfile": (
            "FROM busybox\nENV WHO=world\nRUN <<EOF\nmkdir -p /h\necho first > /h/run1\n"
            "echo second >> /h/run1\n"
            "EOF\nRUN <<-EOT sh\n\techo tabbed > /h/run2\n\tEOT\n"
            "COPY <<EOF /h/copied.txt\nline one $WHO${HOME}\nline two\nEOF\n"
            "COPY <<'RAW' /h/raw.txt\nno $expansion here\nRAW\n"
            "COPY <<A <<B /h/many/\nalpha\nA\nbeta\nB\n"),
        # the documented meaning of the heredocs above, in syntax 20.10 reads
        "Dockerfile.docker": (
            "FROM busybox\nENV WHO=world\n"
            "RUN mkdir -p /h; echo first > /h/run1; echo second >> /h/run1\n"
            "RUN echo tabbed > /h/run2\nCOPY copied.txt /h/copied.txt\nCOPY raw.txt /h/raw.txt\n"
            "COPY A B /h/many/\n"),
        "copied.txt": "line one world\nline two\n", "raw.txt": "no $expansion here\n",
        "A": "alpha\n", "B": "beta\n",
    },
    "dockerignore-negation": {
        "Dockerfile": "FROM busybox\nCOPY . /ctx/\n",
        ".dockerignore": (
            "# comment\ndocs\n!docs/keep.md\n**/*.tmp\n!important.tmp\n/root-only.txt\n"
            "build/**\n!build/dist/\nbuild/dist/*.map\n./cleaned/../secret.key\n"),
        "docs/drop.md": "d", "docs/keep.md": "k", "a.tmp": "t", "x/y/b.tmp": "t",
        "important.tmp": "i", "root-only.txt": "r", "nested/root-only.txt": "kept",
        "build/obj.o": "o", "build/dist/app.js": "js", "build/dist/app.js.map": "m",
        "secret.key": "s", "keep.txt": "k",
    },
    "onbuild-from-image": {
        # the parent is built and tagged first (both sides); its triggers run in the
        # child's context, before the child's own steps
        "Dockerfile.parent": (
            "FROM busybox\nONBUILD ARG GREETING=hi\nONBUILD COPY . /app/\n"
            "ONBUILD RUN echo \"$GREETING\" > /app/greeting && ls /app > /app/listing\n"
            "ONBUILD USER tester\nCMD [\"cat\", \"/app/greeting\"]\n"),
        "Dockerfile": "FROM onbuild-parent:1\nRUN id -u > /tmp/uid\n",
        "@args": "GREETING=hello",
        "src.txt": "s\n",
    },
    "parents-and-exclude": {
        # dockerfile 1.7-labs syntax: docker 20.10 builds the documented result from
        # prepared mirrors of what each instruction keeps
        "Dockerfile": (
            "# syntax=docker/dockerfile:1.7-labs\nFROM busybox\n"
            "COPY --parents x/a.txt y/*.txt /p/\nCOPY --parents base/./sub/deep.txt /pivot/\n"
            "COPY --parents tree /t/\nCOPY --exclude=*.md --exclude=skip docs /docs/\n"
            "COPY --exclude=*.txt hom* /mydir/\nWORKDIR /w\n"
            "COPY --parents --exclude=*.md y/* rel/\n"),
        "Dockerfile.docker": (
            "FROM busybox\nCOPY want-p /p/\nCOPY want-pivot /pivot/\nCOPY want-t /t/\n"
            "COPY want-docs /docs/\nCOPY want-mydir /mydir/\nWORKDIR /w\nCOPY want-rel rel/\n"),
        "x/a.txt": "xa", "x/b.txt": "xb", "y/1.txt": "y1", "y/2.txt": "y2", "y/3.md": "y3",
        "base/sub/deep.txt": "deep", "base/other.txt": "o", "tree/t1": "t1",
        "tree/in/t2": "t2", "docs/a.md": "a", "docs/b.txt": "b", "docs/skip/s.txt": "s",
        "docs/sub/c.md": "c", "home.txt": "h", "homer.sh": "hs", "house.txt": "ho",
        "want-p/x/a.txt": "xa", "want-p/y/1.txt": "y1", "want-p/y/2.txt": "y2",
        "want-pivot/sub/deep.txt": "deep", "want-t/tree/t1": "t1", "want-t/tree/in/t2": "t2",
        "want-docs/b.txt": "b", "want-docs/sub/c.md": "c", "want-mydir/homer.sh": "hs",
        "want-rel/y/1.txt": "y1", "want-rel/y/2.txt": "y2",
    },
    "parents-and-exclude-from-stage": {
        "Dockerfile": (
            "# syntax=docker/dockerfile:1.7-labs\nFROM busybox AS src\n"
            "RUN mkdir -p /d/e/f && echo 1 > /d/e/one && echo 2 > /d/e/f/two && "
            "echo m > /d/e/skip.md && chmod 0700 /d/e/f && chmod 0750 /d/e\n"
            "FROM busybox\nCOPY --from=src --parents /d/./e/one /d/e/f /out/\n"
            "COPY --from=src --exclude=*.md /d/e /ex/\n"),
        "Dockerfile.docker": (
            "FROM busybox AS src\n"
            "RUN mkdir -p /d/e/f && echo 1 > /d/e/one && echo 2 > /d/e/f/two && "
            "echo m > /d/e/skip.md && chmod 0700 /d/e/f && chmod 0750 /d/e\n"
            "FROM src AS want\nRUN mkdir -p /w/e /w/d/e && cp /d/e/one /w/e/ && "
            "cp -a /d/e/f /w/d/e/ && chmod 0750 /w/e /w/d/e && mkdir /x && "
            "cp -a /d/e/. /x/ && rm /x/skip.md\n"
            "FROM busybox\nCOPY --from=want /w /out/\nCOPY --from=want /x /ex/\n"),
    },
}


# Where docker 20.10 (BuildKit v0.8) is the odd one: path -> the bytes newer BuildKit
# gives, which dockyard must give too.
KNOWN_DIFFERENCES: dict[str, dict[str, bytes]] = {
    # BuildKit >= 0.10.4/0.11.4 (moby/buildkit#3651, the containerd CVE-2023-25173 fix)
    # puts the primary gid among the supplementary groups; v0.8 leaves it out.
    "user-and-workdir": {
        "/home/tester/id": b"uid=1000(tester) gid=1000(tester) groups=100(users),1000(tester)\n",
    },
}


def write_case(ctx: Path, files: dict[str, str]) -> tuple[Path, list[str]]:
    """Lay out a case's context; return it and the extra build flags both sides use."""
    flags: list[str] = []
    modes: list[str] = []
    for name, text in files.items():
        if name == "@args":
            flags += [a for kv in text.split() for a in ("--build-arg", kv)]
            continue
        if name == "@chmod":
            modes = text.split()
            continue
        path = ctx / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("/"):
            path.mkdir(exist_ok=True)
        elif text.startswith("@link:"):
            path.symlink_to(text.removeprefix("@link:"))
        else:
            path.write_text(text)
    for entry in modes:
        name, mode = entry.split("=")
        os.chmod(ctx / name, int(mode, 8))
    return ctx, flags

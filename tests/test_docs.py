r"""Every example in README.md and docs/*.md is executed, or says why it cannot be.

A fenced block's info string is `LANG [attr ...]`; attributes are `key=value` or bare words. Each
document gets its own sandbox directory; its blocks run in document order, so a later block sees
the files and data of earlier ones.

- ```LANG file=PATH: the text is written to PATH in the sandbox (a later block uses it).
- ```console: a shell session. `$ ` starts a command (a line ending in `\` continues it); the
  lines up to the next `$ ` are its expected output, which must appear in order in what the
  command printed (stdout, then stderr; runs of spaces count as one). `...` in a line matches any
  text; a line of only `...` matches any number of lines. Every command must exit 0, except the
  last of a block with `exit=N`, which must exit N. Commands run with `bash -eo pipefail`, cwd the
  sandbox, .venv/bin first on PATH, HOME the sandbox, PRUNERR_DATA_DIR=$SANDBOX/data,
  PRUNERR_RULES_DIR=$SANDBOX/rules.d and REPO the repository root.
  `services`: emulators of an XS library run and their variables (PLEX_URL, ...) are exported.
  `server`: also a synced Prunerr API (`prunerr serve --no-worker`) with its key in KEY and the
  example rules (unless the document wrote a rules.d); `localhost:3000` in a command is it.
- ```python run: run with the venv's python, cwd the sandbox; must exit 0.
- ```prunerr [media=TYPE] / ```prunerr-error CODE: a condition that compiles cleanly / fails
  with CODE (grammar/README.md's own blocks are checked by tests/dsl/test_reference_doc.py).
- ```LANG norun=REASON: not executed, for one of the REASONS below.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from prunerr.dsl import compile_condition
from tests.support import free_port

pytestmark = pytest.mark.slow


REPO = Path(__file__).resolve().parent.parent
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent
TIMEOUT = 120
REASONS = {
    "docker": "needs a Docker engine or a compose deployment; none runs here",
    "output": "a sample of what a command prints; the command runs in another block or test",
    "elsewhere": "executed by the test the text next to it names",
}
_FENCE = re.compile(r"^(\s*)```(\S*)\s*(.*)$")


@dataclass
class Block:
    document: Path
    line: int  # 1-based line of the opening fence
    lang: str
    attrs: dict[str, str]
    text: str

    def __str__(self) -> str:
        return f"{self.document.relative_to(REPO)}:{self.line}"


def blocks_of(document: Path) -> list[Block]:
    lines = document.read_text(encoding="utf-8").splitlines()
    blocks, index = [], 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if not fence:
            index += 1
            continue
        indent = len(fence.group(1))
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith("```"):
            end += 1
        attrs = {}
        for word in fence.group(3).split():
            key, _, value = word.partition("=")
            attrs[key] = value
        text = "\n".join(line[indent:] for line in lines[index + 1 : end])
        blocks.append(Block(document, index + 1, fence.group(2), attrs, text + "\n"))
        index = end + 1
    return blocks


@dataclass
class Command:
    line: str
    expected: list[str] = field(default_factory=list)


def commands_of(text: str) -> list[Command]:
    commands: list[Command] = []
    continued = False
    for line in text.splitlines():
        if continued:
            commands[-1].line += "\n" + line
        elif line.startswith("$ "):
            commands.append(Command(line[2:]))
        elif line.strip():
            assert commands, f"output before any command: {line!r}"
            commands[-1].expected.append(line.rstrip())
        continued = bool(commands) and line.endswith("\\") and not commands[-1].expected
    return commands


def _pattern(expected: str) -> re.Pattern:
    parts = " ".join(expected.split()).split("...")
    return re.compile(".*".join(re.escape(part.strip()) for part in parts))


def unmatched(expected: list[str], output: str) -> str | None:
    """The first expected line not found, in order, in `output`; None when all are."""
    lines = [" ".join(line.split()) for line in output.splitlines()]
    position = 0
    for want in expected:
        if want.strip() == "...":
            continue
        pattern = _pattern(want)
        while position < len(lines) and not pattern.fullmatch(lines[position]):
            position += 1
        if position == len(lines):
            return want
        position += 1
    return None


class Sandbox:
    """One document's directory, environment and, on demand, emulators and an API server."""

    def __init__(self, path: Path):
        self.path = path
        self.env = {
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(path),
            "LANG": "C.UTF-8",
            "PRUNERR_DATA_DIR": str(path / "data"),
            "PRUNERR_RULES_DIR": str(path / "rules.d"),
            "REPO": str(REPO),
        }
        self.processes: list[subprocess.Popen] = []
        self.emulating = False
        self.port: int | None = None

    def start_services(self) -> None:
        if self.emulating:
            return
        self.emulating = True
        emulate = self._spawn(["prunerr", "emulate", "--size", "XS", "--seed", "1"])
        services = json.loads(emulate.stdout.readline())
        for service in services.values():
            self.env.update(service["env"])

    def start_server(self) -> None:
        self.start_services()
        if self.port:
            return
        self.env["KEY"] = self.env["PRUNERR_API_KEY"] = "docs-example-key"
        if not (self.path / "rules.d").exists():
            shutil.copytree(REPO / "rules.d", self.path / "rules.d")
        synced = self.run("prunerr sync")
        assert synced.returncode == 0, synced.stdout + synced.stderr
        self.port = free_port()
        server = self._spawn(["prunerr", "serve", "--no-worker"], PORT=str(self.port))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.poll() is None:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/api/health", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("the API server did not start")

    def _spawn(self, argv: list[str], **env: str) -> subprocess.Popen:
        process = subprocess.Popen(
            argv, cwd=self.path, env={**self.env, **env}, stdout=subprocess.PIPE, text=True
        )
        self.processes.append(process)
        return process

    def run(self, command: str) -> subprocess.CompletedProcess:
        if self.port:
            command = command.replace("localhost:3000", f"127.0.0.1:{self.port}")
        return subprocess.run(
            ["bash", "-eo", "pipefail", "-c", command],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )

    def close(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()


def execute(block: Block, sandbox: Sandbox) -> None:
    if "file" in block.attrs:
        target = sandbox.path / block.attrs["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.text, encoding="utf-8")
    elif block.lang == "console":
        if "server" in block.attrs:
            sandbox.start_server()
        elif "services" in block.attrs:
            sandbox.start_services()
        commands = commands_of(block.text)
        assert commands, f"{block}: a console block without a `$ ` command"
        for number, command in enumerate(commands, 1):
            done = sandbox.run(command.line)
            output = done.stdout + done.stderr
            last = number == len(commands)
            status = int(block.attrs["exit"]) if last and "exit" in block.attrs else 0
            assert done.returncode == status, (
                f"{block}: `{command.line}` exited {done.returncode}, not {status}:\n{output}"
            )
            missing = unmatched(command.expected, output)
            assert missing is None, (
                f"{block}: `{command.line}` did not print {missing!r}; it printed:\n{output}"
            )
    elif block.lang == "python" and "run" in block.attrs:
        done = subprocess.run(
            [sys.executable, "-c", block.text],
            cwd=sandbox.path,
            env=sandbox.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert done.returncode == 0, f"{block}: exited {done.returncode}:\n{done.stderr}"
    elif block.lang in ("prunerr", "prunerr-error"):
        media = block.attrs.get("media", "movie")
        codes = {d.code for d in compile_condition(block.text, media=media).diagnostics}
        if block.lang == "prunerr":
            assert not codes, f"{block}: {sorted(codes)}"
        else:
            (code,) = (key for key in block.attrs if key != "media")
            assert code in codes, f"{block}: expected {code}, got {sorted(codes)}"
    else:
        raise AssertionError(f"{block}: neither executed nor marked norun=REASON")


def runnable(block: Block) -> bool:
    return "norun" not in block.attrs


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_block_is_executed_or_says_why_not(document: Path):
    for block in blocks_of(document):
        if "norun" in block.attrs:
            assert block.attrs["norun"] in REASONS, (
                f"{block}: norun={block.attrs['norun']!r} is not one of {sorted(REASONS)}"
            )
        elif "file" not in block.attrs:
            assert block.lang in ("console", "prunerr", "prunerr-error") or (
                block.lang == "python" and "run" in block.attrs
            ), f"{block}: ```{block.lang} is neither executed nor marked norun=REASON"


@pytest.mark.parametrize(
    "document",
    [d for d in DOCUMENTS if any(runnable(b) for b in blocks_of(d))],
    ids=lambda path: path.name,
)
def test_examples_run(document: Path, tmp_path: Path):
    sandbox = Sandbox(tmp_path)
    try:
        for block in blocks_of(document):
            if runnable(block):
                execute(block, sandbox)
    finally:
        sandbox.close()


def test_console_output_matching():
    """The matcher the examples rely on: order, `...` within and between lines."""
    output = "header\n  3 passed,   0 failed  \nfooter\n"
    assert unmatched(["3 passed, ... failed"], output) is None
    assert unmatched(["header", "...", "footer"], output) is None
    assert unmatched(["footer", "header"], output) == "header"
    assert unmatched(["4 passed..."], output) == "4 passed..."
    assert commands_of("$ a \\\n  b\nout\n$ c\n") == [Command("a \\\n  b", ["out"]), Command("c")]

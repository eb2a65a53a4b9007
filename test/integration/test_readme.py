"""Every command in README.md is run here or proven to be what .ci/run and tox.ini run.

The fenced code blocks are read from the README itself, so an edited command is tested as
edited. COVERAGE maps command prefixes to the test that checks them and INLINE does the same
for commands quoted in the prose: a new command that no entry covers fails
``test_every_readme_command_is_covered``.

Ports and paths are substituted where the README names its own (8080, /opt/ml/models,
/path/to/models); curl runs when installed, else the same request goes through http.client
(README_TEST_WITHOUT_CURL=1 forces that path where curl is installed).
"""

import configparser
import glob
import http.client
import importlib.metadata
import inspect
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import urllib.parse
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import pytest

import server_harness
from sagemaker_inference import model_server
from sagemaker_inference.mms_config import free_port
from usability_helpers import FRUIT_MODEL, ROOT, Server, console_script, loaded, server_env, stop

pytestmark = pytest.mark.timeout(400)

README = os.path.join(ROOT, "README.md")
COMMAND_LANGUAGES = ("", "bash", "sh", "shell", "console")
NOT_COMMANDS = ("text",)  # program output and usage synopses


class Block(NamedTuple):
    language: str
    line: int
    body: str


class Command(NamedTuple):
    block: int  # line of the block's opening fence
    text: str
    argv: List[str]
    expected: List[str]  # the comment lines right below it (the output the README shows)


def readme_text() -> str:
    with open(README, encoding="utf-8") as handle:
        return handle.read()


def fenced_blocks(text: str) -> List[Block]:
    blocks = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = re.match(r"^```(\S*)\s*$", lines[index])
        if opening:
            end = index + 1
            while end < len(lines) and not lines[end].startswith("```"):
                end += 1
            assert end < len(lines), "unclosed code block at README line %d" % (index + 1)
            blocks.append(Block(opening.group(1), index + 1, "\n".join(lines[index + 1 : end])))
            index = end
        index += 1
    return blocks


def commands_of(block: Block) -> List[Command]:
    commands: List[Command] = []
    pending = ""
    for raw in block.body.splitlines():
        line = raw.strip()
        if pending:
            line = pending + " " + line
            pending = ""
        if line.endswith("\\"):
            pending = line[:-1].rstrip()
            continue
        if not line:
            continue
        if line.startswith("#"):
            if commands:
                commands[-1].expected.append(line[1:].strip())
            continue
        commands.append(Command(block.line, line, shlex.split(line, comments=True), []))
    return commands


def readme_commands() -> List[Command]:
    found = []
    for block in fenced_blocks(readme_text()):
        if block.language in COMMAND_LANGUAGES:
            found.extend(commands_of(block))
    return found


def python_blocks() -> List[Block]:
    return [block for block in fenced_blocks(readme_text()) if block.language == "python"]


def block_with(first_command: Sequence[str]) -> List[Command]:
    """The commands of the README block whose first command starts with first_command."""
    for block in fenced_blocks(readme_text()):
        if block.language in COMMAND_LANGUAGES:
            commands = commands_of(block)
            if commands and commands[0].argv[: len(first_command)] == list(first_command):
                return commands
    raise AssertionError("no README block starts with %r" % " ".join(first_command))


def block_holding(program: str) -> List[Command]:
    """The commands of the first README block with a command that runs ``program``."""
    for block in fenced_blocks(readme_text()):
        if block.language in COMMAND_LANGUAGES:
            commands = commands_of(block)
            if any(command.argv[0] == program for command in commands):
                return commands
    raise AssertionError("no README block runs %s" % program)


def split_and(argv: Sequence[str]) -> List[List[str]]:
    parts: List[List[str]] = [[]]
    for word in argv:
        if word == "&&":
            parts.append([])
        else:
            parts[-1].append(word)
    return parts


# ---- which check covers which command ----------------------------------------------------------

# (argv prefix, test that checks it). Prefixes are matched word by word, first match wins.
COVERAGE: List[Tuple[Tuple[str, ...], str]] = [
    (("python3", "-m", "venv", ".venv"), "test_quickstart_and_development_setup_lines"),
    ((".venv/bin/python", "-m", "pytest"), "test_development_block_is_what_ci_and_tox_run"),
    ((".venv/bin/flake8",), "test_development_block_is_what_ci_and_tox_run"),
    ((".venv/bin/black",), "test_development_block_is_what_ci_and_tox_run"),
    ((".venv/bin/sagemaker-inference", "invoke"), "test_single_model_examples"),
    (("curl", "-s", "-H", "Content-Type: application/json"), "test_single_model_examples"),
    (("sagemaker-inference", "serve", "--multi-model"), "test_multi_model_examples"),
    (("sagemaker-inference", "invoke", "--model"), "test_multi_model_examples"),
    (("curl",), "test_multi_model_examples"),
    (("docker", "build"), "test_docker_commands_are_the_image_tests"),
    (("docker", "run"), "test_docker_commands_are_the_image_tests"),
    (("python", "benchmarks/run.py"), "test_benchmark_commands_exist"),
]

PYTHON_BLOCKS: Dict[str, str] = {
    "from sagemaker_inference.testing import LocalModel": "test_local_model_example",
    "from sagemaker_inference import model_server": "test_start_model_server_example",
    "# png_codec.py: imported by the container's handler service module": (
        "test_register_codec_example"
    ),
}

LOCAL_MODEL_SNIPPET = (
    "from sagemaker_inference.testing import LocalModel; LocalModel('path/to/model')"
)
# Commands quoted in the prose (multi-word spans starting with a program name).
INLINE_COMMAND = re.compile(r"^(sudo|apt-get|yum|pip|python3?|\.venv/bin/\S+|tox|bash|docker) \S")
COLD_ONLY_COMMAND = "python benchmarks/run.py --cold-only 8 --only floor,project,project-cds"
PROFILE_JAVA_COMMAND = "python benchmarks/run.py --only project --profile-java project"
INLINE: Dict[str, str] = {
    "apt-get install -y openjdk-17-jre-headless": "test_inline_commands (package in .ci/run)",
    "sudo apt-get install -y openjdk-17-jre-headless": "test_inline_commands (package in .ci/run)",
    "sudo yum install -y java-17-amazon-corretto-headless": "not run: Amazon Linux only",
    "python examples/fruit/train.py": "test_inline_commands (exists; rewrites the artifact)",
    "python -m sagemaker_inference": "test_inline_commands (--help)",
    "pip install 'sagemaker-inference[fast]'": "test_inline_commands (extra declared)",
    "python -m sagemaker_inference.plugin build": "test_jar_rebuild.py (rebuilds into a cache)",
    "python -m sagemaker_inference.plugin check": "test_inline_commands (run)",
    "python -m sagemaker_inference.cds ARCHIVE": "test_cds_archive.py (builds one, serves)",
    ".venv/bin/python -m sagemaker_inference.plugin build": "test_jar_rebuild.py (same build)",
    "python -m sagemaker_inference.plugin build --cache-dir DIR": "test_jar_rebuild.py",
    ".venv/bin/pip install pytest && .venv/bin/python -m pytest test_fruit.py": (
        "test_local_model_example (runs the block from the clone's root)"
    ),
    ".venv/bin/python -m pytest test/integration/test_hostile.py": "test_inline_commands",
    ".venv/bin/python -m pytest -m soak test/integration/test_soak.py -s": "test_inline_commands",
    "python benchmarks/run.py": "test_benchmark_commands_exist",
    COLD_ONLY_COMMAND: "test_inline_commands",
    PROFILE_JAVA_COMMAND: "test_inline_commands",
    ".venv/bin/python benchmarks/batching.py --runs 2": "test_batching_benchmark_options",
    ".venv/bin/python benchmarks/batching.py --runs 2 --workers 2 --sleep": (
        "test_batching_benchmark_options"
    ),
    "apt-get update": "test_inline_commands (benchmarks/run.py runs it)",
    "apt-get install wrk": "test_inline_commands (benchmarks/run.py runs it)",
    "docker run IMAGE bash": "test_entrypoint.py (other commands run in place; needs Docker)",
    'python -c "%s"' % LOCAL_MODEL_SNIPPET: "test_inline_commands (run on the example model)",
    "tox -e py3,flake8,black": "test_inline_commands (environments exist)",
    "bash .ci/run": "test_inline_commands (exists)",
}


def inline_commands() -> List[str]:
    prose = re.sub(r"^```.*?^```", "", readme_text(), flags=re.S | re.M)
    spans = re.findall(r"`([^`\n]+)`", prose)
    return [span for span in spans if INLINE_COMMAND.match(span)]


def covering_test(argv: Sequence[str]) -> Optional[str]:
    for prefix, test in COVERAGE:
        if list(argv[: len(prefix)]) == list(prefix):
            return test
    return None


def test_every_readme_command_is_covered():
    uncovered = [
        "README line %d: %s" % (command.block, command.text)
        for command in readme_commands()
        if covering_test(command.argv) is None
    ]
    for block in python_blocks():
        first = block.body.strip().splitlines()[0]
        if first not in PYTHON_BLOCKS:
            uncovered.append("README line %d: python block %r" % (block.line, first))
    for span in inline_commands():
        if span not in INLINE:
            uncovered.append("README prose: `%s`" % span)
    languages = {block.language for block in fenced_blocks(readme_text())}
    unknown = languages - set(COMMAND_LANGUAGES) - set(NOT_COMMANDS) - {"python"}
    assert not unknown, "code blocks of an unknown language: %s" % sorted(unknown)
    assert not uncovered, "README commands no check covers (add one to test_readme.py):\n" + (
        "\n".join(uncovered)
    )
    names = {test for _, test in COVERAGE}
    names |= set(PYTHON_BLOCKS.values())
    names |= {
        test.split(" ")[0]
        for test in INLINE.values()
        if test.startswith("test_") and not test.split(" ")[0].endswith(".py")
    }
    missing = sorted(name for name in names if name not in globals())
    assert not missing, "COVERAGE names tests that do not exist: %s" % missing


# ---- .ci/run and tox.ini ----------------------------------------------------------------------


def ci_commands() -> List[List[str]]:
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    return [shlex.split(line, comments=True) for line in lines if line.strip()]


def tox_commands() -> Dict[str, List[str]]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(os.path.join(ROOT, "tox.ini"))
    found = {}
    for section in parser.sections():
        if section.startswith("testenv") and parser.has_option(section, "commands"):
            words = shlex.split(parser.get(section, "commands"))
            found[section] = [word for word in words if word != "{posargs}"]
    return found


def test_quickstart_and_development_setup_lines():
    quickstart = block_with(["python3", "-m", "venv"])
    assert len(quickstart) == 2, quickstart
    serve_line, test_line = quickstart
    # the test command runs in CI word for word
    assert test_line.argv in ci_commands(), "README's test command is not a line of .ci/run"
    venv, install, serve = split_and(serve_line.argv)
    assert venv == split_and(test_line.argv)[0]
    # `pip install -e .` installs the console script the serve command runs (CI installs the
    # same package with the [test] extra); the serve command itself runs in fruit_server below
    assert install == [".venv/bin/pip", "install", "-q", "-e", "."]
    entry_points = importlib.metadata.entry_points()
    if hasattr(entry_points, "select"):
        scripts = entry_points.select(group="console_scripts")
    else:  # Python 3.9: a dict of groups
        scripts = entry_points.get("console_scripts", [])
    assert any(
        entry.name == "sagemaker-inference" and entry.value == "sagemaker_inference.cli:main"
        for entry in scripts
    )
    assert serve == [
        ".venv/bin/sagemaker-inference",
        "serve",
        "--model-dir",
        "examples/fruit/model",
    ]


def test_development_block_is_what_ci_and_tox_run():
    development = block_holding(".venv/bin/flake8")
    ci = ci_commands()
    tox = tox_commands()
    for command in development:
        if command.argv in ci:
            continue
        bare = [os.path.basename(command.argv[0])] + command.argv[1:]
        assert bare in tox.values(), "%s is neither in .ci/run nor in tox.ini" % command.text


# ---- the example model, single-model --------------------------------------------------------


def run_readme_command(argv: Sequence[str], port: int, models_dir: str = "") -> Tuple[int, bytes]:
    """Run one README command against a server on ``port``; returns (exit code, stdout).

    For curl the stdout ends with a line holding the HTTP status.
    """

    def substitute(word: str) -> str:
        word = word.replace("localhost:8080", "localhost:%d" % port)
        for path in ("/opt/ml/models", "/path/to/models"):
            word = word.replace(path, models_dir)
        return str(port) if word == "8080" else word

    argv = [substitute(word) for word in argv]
    if argv[0] == "curl":
        if shutil.which("curl") and not os.environ.get("README_TEST_WITHOUT_CURL"):
            done = subprocess.run(argv + ["-w", "\n%{http_code}"], capture_output=True, timeout=120)
            return done.returncode, done.stdout
        return curl_with_http_client(argv[1:])
    assert os.path.basename(argv[0]) == "sagemaker-inference", argv
    env = dict(os.environ, SAGEMAKER_BIND_TO_PORT=str(port))
    done = subprocess.run(console_script() + argv[1:], capture_output=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return done.returncode, done.stdout


def curl_with_http_client(args: Sequence[str]) -> Tuple[int, bytes]:
    """Send the request the README's curl options describe (-s -f -X -H -d and a URL)."""
    method, data, url, fail = None, None, None, False
    headers: Dict[str, str] = {}
    words = iter(args)
    for word in words:
        if word == "-s":
            continue
        if word == "-f":
            fail = True
        elif word == "-X":
            method = next(words)
        elif word == "-H":
            name, _, value = next(words).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            data = next(words).encode("utf-8")
        elif word.startswith("-"):
            raise AssertionError("curl option %s has no http.client equivalent here" % word)
        else:
            url = word if "://" in word else "http://" + word
    assert url is not None, args
    if data is not None:
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")  # as curl does
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        connection.request(
            method or ("POST" if data is not None else "GET"),
            parts.path or "/",
            body=data,
            headers=headers,
        )
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if fail and response.status >= 400:
        return 22, b""
    return 0, body + b"\n%d" % response.status


def status_and_body(output: bytes) -> Tuple[int, bytes]:
    body, _, status = output.rpartition(b"\n")
    return int(status), body


def check_shown_output(command: Command, output: bytes) -> None:
    """Compare with the output the README shows in the comment below the command."""
    assert command.expected, "%s shows no output to check" % command.text
    shown = command.expected[0]
    if shown.startswith("["):
        expected, actual = json.loads(shown), json.loads(output)
        assert [row["label"] for row in actual] == [row["label"] for row in expected]
        for got, want in zip(actual, expected):
            assert got["probabilities"] == pytest.approx(want["probabilities"], abs=5e-4)
    else:
        assert output.decode().strip() == shown


@pytest.fixture(scope="module")
def fruit_server(tmp_path_factory):
    """The quickstart's serve command, run as written, from a directory like a clone's."""
    serve = block_with(["python3", "-m", "venv"])[0]
    argv = split_and(serve.argv)[-1]
    clone = tmp_path_factory.mktemp("clone")
    os.symlink(os.path.join(ROOT, "examples"), str(clone / "examples"))
    port = free_port()
    # As SageMaker and the README run it: no worker count.
    env = server_env(clone, {"SAGEMAKER_BIND_TO_PORT": str(port)})
    server = Server(console_script() + argv[1:], env, cwd=str(clone))
    with loaded(server):
        yield server, port


def test_single_model_examples(fruit_server):
    server, port = fruit_server
    # what the README says serve prints
    shown = [
        block.body.splitlines()
        for block in fenced_blocks(readme_text())
        if block.language == "text" and "listening on" in block.body
    ][0]
    assert [line.split(":")[0] for line in server.lines[:3]] == [
        line.split(":")[0] for line in shown
    ]
    assert "examples/fruit/model on port %d" % port in server.lines[0]
    assert "listening on http://localhost:%d" % port in server.lines[1]
    assert "send requests to POST http://localhost:%d/invocations" % port in server.lines[2]

    checked = 0
    for command in readme_commands():
        if covering_test(command.argv) != "test_single_model_examples":
            continue
        code, output = run_readme_command(command.argv, port)
        assert code == 0, command.text
        if command.argv[0] == "curl":
            status, output = status_and_body(output)
            assert status == 200, (command.text, output)
        if command.expected:
            check_shown_output(command, output)
        else:  # the container block's curl repeats the quickstart request without output
            assert json.loads(output)[0]["label"] == "apple", command.text
        checked += 1
    assert checked >= 3


# ---- multi-model --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    for name in ("a", "fruit"):
        shutil.copytree(FRUIT_MODEL, str(models / name / "model"))
    return str(models)


def test_multi_model_examples(models_dir, tmp_path):
    local = block_with(["sagemaker-inference", "serve", "--multi-model"])
    container = block_with(["curl", "-X", "POST", "localhost:8080/models"])
    serve_argv = local[0].argv
    port = free_port()
    argv = [
        {"/path/to/models": models_dir, "8080": str(port)}.get(word, word)
        for word in serve_argv[1:]
    ]
    env = server_env(tmp_path)  # no worker count, as SageMaker runs a multi-model endpoint
    server = Server(console_script() + argv, env, cwd=str(tmp_path))
    try:
        server.wait_for_line(lambda line: "ready after" in line)

        # serving locally: load "fruit", invoke it by name
        load, invoke = local[1:]
        status, body = status_and_body(run_readme_command(load.argv, port, models_dir)[1])
        assert status == 200, body
        output = run_readme_command(invoke.argv, port, models_dir)[1]
        assert json.loads(output)[0]["label"] == "apple"

        # the multi-model endpoint sequence: load, list, describe, invoke, delete
        answers = []
        for command in container:
            code, output = run_readme_command(command.argv, port, models_dir)
            assert code == 0, command.text
            answers.append(status_and_body(output))
        assert [status for status, _ in answers] == [200] * 5, answers
        loaded, listed, described, invoked, deleted = [body for _, body in answers]
        assert "a" in [model["modelName"] for model in json.loads(listed)["models"]]
        description = json.loads(described)
        if isinstance(description, list):  # newer MMS versions answer a list
            description = description[0]
        assert description["modelName"] == "a"
        assert json.loads(invoked)[0]["label"] == "apple"

        # "404 if unknown" for describe and delete, after the delete
        for command in (container[2], container[4]):
            output = run_readme_command(command.argv, port, models_dir)[1]
            assert status_and_body(output)[0] == 404, command.text
        # "Loading a model twice is a 409"
        run_readme_command(container[0].argv, port, models_dir)
        output = run_readme_command(container[0].argv, port, models_dir)[1]
        assert status_and_body(output)[0] == 409
    finally:
        if server.process.poll() is None:
            stop(server, signal.SIGINT, group=True)
        server.kill()
    assert server.wait_no_leftovers() == []


# ---- python blocks --------------------------------------------------------------------------


def python_block(first_line: str) -> Block:
    for block in python_blocks():
        if block.body.strip().startswith(first_line):
            return block
    raise AssertionError("no README python block starts with %r" % first_line)


def test_local_model_example(monkeypatch):
    block = python_block("from sagemaker_inference.testing import LocalModel")
    monkeypatch.chdir(ROOT)
    saved_path, saved_modules = list(sys.path), set(sys.modules)
    namespace: Dict[str, object] = {}
    try:
        exec(compile(block.body, "README.md:%d" % block.line, "exec"), namespace)
        tests = [name for name in namespace if name.startswith("test_")]
        assert len(tests) == 2, tests
        for name in tests:
            namespace[name]()
    finally:
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules:
            if name == "inference" or name.startswith("inference."):
                del sys.modules[name]


def test_register_codec_example():
    pytest.importorskip("PIL")
    import numpy as np

    from sagemaker_inference import codecs, decoder, encoder

    block = python_block("# png_codec.py")
    try:
        exec(compile(block.body, "README.md:%d" % block.line, "exec"), {})
        image = np.arange(12, dtype=np.uint8).reshape(3, 4)
        body = encoder.encode(image, "image/png")
        assert body.startswith(b"\x89PNG")
        assert (decoder.decode(body, "image/png") == image).all()
        assert codecs.media_type_for_extension(".png") == "image/png"
    finally:
        codecs.unregister_codec("image/png")


def test_start_model_server_example(monkeypatch):
    block = python_block("from sagemaker_inference import model_server")
    calls = []
    monkeypatch.setattr(model_server, "start_model_server", lambda **kw: calls.append(kw))
    exec(compile(block.body, "README.md:%d" % block.line, "exec"), {})
    assert calls == [{"handler_service": "my_container.handler_service"}]
    monkeypatch.undo()
    assert "handler_service" in inspect.signature(model_server.start_model_server).parameters
    # and every harness-started integration server goes through that same call
    harness = server_harness.Server(str(ROOT), handler="my.handler").command()
    assert "model_server.start_model_server('my.handler')" in harness[-1]


# ---- docker, benchmarks, inline ----------------------------------------------------------------


def test_docker_commands_are_the_image_tests(monkeypatch):
    import test_entrypoint

    build, run, curl = block_with(["docker", "build"])
    tag = build.argv[build.argv.index("-t") + 1]
    recorded = []

    def fake_run(argv, **kwargs):
        recorded.append(argv)
        return subprocess.CompletedProcess(argv, 0)

    monkeypatch.setattr(test_entrypoint.subprocess, "run", fake_run)
    dockerfile = build.argv[build.argv.index("-f") + 1]
    test_entrypoint._build(os.path.basename(dockerfile), tag)
    monkeypatch.undo()  # subprocess.run is the real one again
    assert recorded == [build.argv], "README's docker build differs from test_entrypoint's"
    # docker run: the test adds -d and --name and maps a free port to the same 8080
    source = inspect.getsource(test_entrypoint.test_image_builds_and_serves)
    assert run.argv[:2] == ["docker", "run"] and "--rm" in run.argv
    assert run.argv[run.argv.index("-p") + 1].endswith(":8080") and run.argv[-2:] == [tag, "serve"]
    assert '"--rm"' in source and '"%d:8080" % port, tag, "serve"' in source
    # the curl line is the quickstart's request (run in test_single_model_examples)
    assert covering_test(curl.argv) == "test_single_model_examples"
    if test_entrypoint._docker_engine_reason():
        pytest.skip("image not built here: no Docker engine (the commands match the image test)")


def test_benchmark_commands_exist():
    lines = [
        command
        for command in readme_commands()
        if covering_test(command.argv) == "test_benchmark_commands_exist"
    ]
    assert lines
    script = os.path.join(ROOT, "benchmarks", "run.py")
    helped = subprocess.run(
        [sys.executable, script, "--help"], capture_output=True, timeout=60, cwd=ROOT
    )
    assert helped.returncode == 0, helped.stderr
    for command in lines:
        for option in command.argv[2:]:
            assert option in helped.stdout.decode(), (command.text, option)


def test_batching_benchmark_options():
    spans = [span for span in inline_commands() if "benchmarks/batching.py" in span]
    assert spans
    script = os.path.join(ROOT, "benchmarks", "batching.py")
    helped = subprocess.run(
        [sys.executable, script, "--help"], capture_output=True, timeout=60, cwd=ROOT
    )
    assert helped.returncode == 0, helped.stderr
    for span in spans:
        for option in shlex.split(span)[2:]:
            if option.startswith("--"):
                assert option in helped.stdout.decode(), (span, option)


def test_inline_commands(tmp_path):
    ci = open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8").read()
    assert "openjdk-17-jre-headless" in ci and "jdk-headless" not in ci
    assert os.path.exists(os.path.join(ROOT, "examples", "fruit", "train.py"))
    assert os.path.exists(os.path.join(ROOT, ".ci", "run"))
    assert os.path.exists(os.path.join(ROOT, "test", "integration", "test_hostile.py"))
    assert os.path.exists(os.path.join(ROOT, "test", "integration", "test_soak.py"))
    assert "soak:" in open(os.path.join(ROOT, "tox.ini"), encoding="utf-8").read()
    # benchmarks/run.py's command line and the package benchmarks/suite/ that does the work
    sources = [os.path.join(ROOT, "benchmarks", "run.py")]
    sources += glob.glob(os.path.join(ROOT, "benchmarks", "suite", "*.py"))
    benchmark = "".join(open(path, encoding="utf-8").read() for path in sources)
    assert '"apt-get", "update"' in benchmark or "apt-get update" in benchmark
    assert "wrk" in benchmark
    # COLD_ONLY_COMMAND: the option and the stack exist
    assert all(word in benchmark for word in ('"--cold-only"', '"project-cds"', "COLD_ONLY"))
    # PROFILE_JAVA_COMMAND: the option exists and reaches the profiler
    assert '"--profile-java"' in benchmark and "profile_java(" in benchmark
    # `pip install 'sagemaker-inference[fast]'` (read from setup.py: an editable install's
    # metadata may predate the extra)
    assert re.search(r'"fast": \[', open(os.path.join(ROOT, "setup.py")).read())
    # `tox -e py3,flake8,black`: py3 is the default [testenv], the others have sections
    assert {"testenv", "testenv:flake8", "testenv:black"} <= set(tox_commands())

    helped = subprocess.run(
        [sys.executable, "-m", "sagemaker_inference", "--help"], capture_output=True, timeout=60
    )
    assert helped.returncode == 0 and b"serve" in helped.stdout

    snippet = LOCAL_MODEL_SNIPPET
    loaded = subprocess.run(
        [sys.executable, "-c", snippet.replace("path/to/model", FRUIT_MODEL)],
        capture_output=True,
        timeout=120,
    )
    assert loaded.returncode == 0, loaded.stderr

    # `python -m sagemaker_inference.plugin check`: the shipped jars match their source
    checked = subprocess.run(
        [sys.executable, "-m", "sagemaker_inference.plugin", "check"],
        capture_output=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.decode().count("ok ") == 2, checked.stdout


def _synopsis_options(text: str) -> List[str]:
    """``--opt META`` / ``-x`` items of a usage synopsis, in order (FILE positional left out)."""
    return re.findall(r"\[(-[\w-]+(?: [A-Z_]+|(?: '[^']*'))?)\]", text)


@pytest.mark.parametrize("command", ["serve", "invoke"])
def test_readme_synopsis_matches_help(command):
    synopsis = [
        block.body
        for block in fenced_blocks(readme_text())
        if block.language == "text" and block.body.startswith("sagemaker-inference " + command)
    ]
    assert len(synopsis) == 1, command
    # "[FILE | -d DATA]" and "[--url URL | --port N]" are alternatives shown as one item
    text = synopsis[0].replace("FILE | -d DATA", "-d DATA").replace("URL | --port", "URL] [--port")
    documented = _synopsis_options(text)
    helped = subprocess.run(
        console_script() + [command, "--help"], capture_output=True, timeout=60
    ).stdout.decode()
    usage = helped.split("\n\n")[0]
    shown = [option for option in _synopsis_options(usage) if option != "-h"]
    assert sorted(documented) == sorted(shown), (documented, shown)

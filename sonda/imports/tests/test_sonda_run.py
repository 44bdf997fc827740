"""The `sonda` console script for real: `sonda run` serving and stopping, and its exit codes.

Each test gets its own SQLite database under a temporary SONDA_VAR_DIR and a free port, so it
neither touches the test database nor collides with a Sonda already running on the machine.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

SONDA = Path(sys.executable).with_name("sonda")
PROC = Path("/proc")

pytestmark = pytest.mark.skipif(not PROC.is_dir(), reason="finds child processes through /proc")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(var_dir: Path, port: int) -> dict[str, str]:
    """This process's environment without its test settings, for an embedded installation."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SONDA_", "DJANGO_"))}
    env.update(
        SONDA_VAR_DIR=str(var_dir),
        SONDA_PORT=str(port),
        SONDA_DEMO_SCALE="tiny",
        SONDA_LOG_LEVEL="WARNING",
    )
    return env


def sonda(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SONDA), *arguments], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def processes_of(var_dir: Path) -> set[int]:
    """Every live process started for this installation (they all carry its SONDA_VAR_DIR)."""
    marker = f"SONDA_VAR_DIR={var_dir}\0".encode()
    found = set()
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes():
                found.add(int(entry.name))
        except OSError:
            continue  # gone meanwhile, or not ours to read
    return found


def login_status(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


class Run:
    """`sonda run` in the background, its output in a file."""

    def __init__(self, var_dir: Path, port: int, log: Path) -> None:
        self.var_dir, self.port, self.log = var_dir, port, log
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [str(SONDA), "run"],
                env=environment(var_dir, port),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def output(self) -> str:
        return self.log.read_text()

    def wait_until_serving(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"sonda run stopped early:\n{self.output}")
            if login_status(self.port) == 200 and "Sonda is running" in self.output:
                return
            time.sleep(0.2)
        pytest.fail(f"sonda run did not start serving:\n{self.output}")

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for pid in processes_of(self.var_dir):
            os.kill(pid, signal.SIGKILL)


def test_sonda_run_serves_until_ctrl_c_then_reuses_its_data(tmp_path):
    var_dir, port = tmp_path / "var", free_port()
    first = Run(var_dir, port, tmp_path / "first.log")
    try:
        first.wait_until_serving()
        started = processes_of(var_dir) - {first.process.pid}
        # gunicorn, its two workers, the job worker and the listening clock
        assert len(started) == 5, first.output
        assert any(
            b"listening_clock" in (PROC / str(pid) / "cmdline").read_bytes() for pid in started
        )
        assert first.stop(signal.SIGINT) == 0, first.output
    finally:
        first.kill()
    assert processes_of(var_dir) == set()
    assert "Created carpathia-bank" in first.output
    assert (
        f"Sonda is running on http://127.0.0.1:{port} — sign in as admin@demo.sonda.dev / "
        "sonda-demo-2026" in first.output
    )
    assert first.output.rstrip().endswith("Sonda stopped.")
    assert (var_dir / "secret_key").stat().st_mode & 0o777 == 0o600
    key = (var_dir / "secret_key").read_text()

    second = Run(var_dir, port, tmp_path / "second.log")
    try:
        second.wait_until_serving()
        assert second.stop(signal.SIGTERM) == 0, second.output
    finally:
        second.kill()
    assert processes_of(var_dir) == set()
    assert "Created" not in second.output
    assert (var_dir / "secret_key").read_text() == key


def test_sonda_run_stops_the_worker_and_the_clock_and_fails_when_the_web_server_cannot_start(
    tmp_path,
):
    var_dir, port = tmp_path / "var", free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        run = Run(var_dir, port, tmp_path / "run.log")
        try:
            code = run.process.wait(timeout=120)
        finally:
            run.kill()
    assert code == 1, run.output
    assert "sonda: the web server stopped (exit code" in run.output
    assert processes_of(var_dir) == set()


@pytest.fixture(scope="module")
def installation(tmp_path_factory):
    """An embedded installation with the tiny demo, set up through the console script."""
    var_dir = tmp_path_factory.mktemp("installation") / "var"
    env = environment(var_dir, free_port())
    env["SONDA_SECRET_KEY"] = "a-test-secret-key-for-the-console-script-0123456789"
    migrated = sonda("migrate", "--verbosity", "0", env=env)
    assert migrated.returncode == 0, migrated.stderr
    demo = sonda("demo", "--scale", "tiny", env=env)
    assert demo.returncode == 0, demo.stderr
    return env


def test_the_console_script_imports_a_file(installation, tmp_path):
    path = tmp_path / "units.csv"
    path.write_text("code,name,type,parent_code\nRO-NEW,New region,region,\n")
    result = sonda(
        "import", "units", str(path), "--organisation", "carpathia-bank", env=installation
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "Imported 1 units rows (1 created, 0 updated, 0 unchanged).\n"


def test_the_console_script_exits_2_naming_row_and_column(installation, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(
        "employee_number,full_name,email,job_title,unit_code,supervisor_employee_number\n"
        "X-1,Someone,someone@bank.example,Advisor,NO-SUCH-UNIT,\n"
    )
    result = sonda(
        "import", "people", str(path), "--organisation", "carpathia-bank", env=installation
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"sonda: error: {path}: nothing was imported; 1 problem:\n"
        "row 2, column unit_code: no unit with code NO-SUCH-UNIT (import units first)\n"
    )


def test_the_console_script_creates_a_token_printing_only_its_secret(installation):
    result = sonda(
        "token",
        "create",
        "--organisation",
        "carpathia-bank",
        "--user",
        "analyst@demo.sonda.dev",
        "--name",
        "ci",
        env=installation,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("sonda_")
    assert len(result.stdout.splitlines()) == 1


def test_the_console_script_passes_django_commands_through(installation):
    result = sonda("manage", "showmigrations", "imports", env=installation)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "imports\n [X] 0001_import_job\n [X] 0002_responses_import\n"


def test_the_console_script_lists_its_commands(installation):
    result = sonda("--help", env=installation)
    assert result.returncode == 0
    for command in ("run", "demo", "import", "export", "token", "migrate", "check", "manage"):
        assert f"\n    {command} " in result.stdout


def test_without_a_secret_key_the_console_script_says_where_one_comes_from(tmp_path):
    env = environment(tmp_path / "var", free_port())
    result = sonda("import", "units", "units.csv", "--organisation", "banca", env=env)
    assert result.returncode == 2
    assert result.stderr == (
        "sonda: error: SONDA_SECRET_KEY (or SONDA_SECRET_KEY_FILE) must be set "
        "(`sonda run` generates one into var/secret_key for the embedded setup)\n"
    )

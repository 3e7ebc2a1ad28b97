"""The command line: ``python -m gmploop script.py [args]`` (API.md "Command
line"). Each program runs in a fresh interpreter with a timeout; a few cases
also call ``gmploop.__main__.main(argv)`` in-process."""

import os
import subprocess
import sys
import textwrap

import pytest

import gmploop
from gmploop.__main__ import main as cli_main

TIMEOUT = 60


def write(tmp_path, name, source):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def gmp(*args, cwd=None, env=None):
    e = dict(os.environ)
    e.pop("GMPLOOP_MAXPROCS", None)
    e.pop("GMPLOOP_SCHEDTRACE", None)
    if env:
        e.update(env)
    return subprocess.run([sys.executable, "-m", "gmploop", *map(str, args)],
                          capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd, env=e)


def test_version():
    r = gmp("--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"gmploop {gmploop.__version__} ")
    assert "greenlet" in r.stdout


def test_help():
    r = gmp("--help")
    assert r.returncode == 0
    assert "usage: python -m gmploop" in r.stdout


def test_script_is_main_goroutine(tmp_path):
    script = write(tmp_path, "prog.py", """
        import os, sys
        import gmploop
        g = gmploop.current()
        assert g is not None, "top level must run in a goroutine"
        print("name", __name__)
        print("argv", sys.argv)
        print("path0", sys.path[0])
        print("file", __file__)
        print("num", gmploop.num_goroutine())
        c = gmploop.Chan()
        gmploop.go(c.send, 42)
        print("recv", c.recv(timeout=10))
    """)
    r = gmp(script, "a", "--b", "-c")
    assert r.returncode == 0, r.stderr
    lines = dict(line.split(" ", 1) for line in r.stdout.splitlines())
    assert lines["name"] == "__main__"
    assert lines["argv"] == repr([str(script), "a", "--b", "-c"])
    assert lines["path0"] == str(tmp_path)
    assert lines["file"] == str(script)
    assert lines["num"] == "1"
    assert lines["recv"] == "42"


@pytest.mark.parametrize("body,code,err", [
    ("pass", 0, ""),
    ("import sys; sys.exit()", 0, ""),
    ("import sys; sys.exit(7)", 7, ""),
    ("raise SystemExit(3)", 3, ""),
    ("import sys; sys.exit('bad thing')", 1, "bad thing"),
])
def test_exit_status(tmp_path, body, code, err):
    script = write(tmp_path, "prog.py", body + "\n")
    r = gmp(script)
    assert r.returncode == code, r.stderr
    assert err in r.stderr


def test_sys_exit_in_other_goroutine(tmp_path):
    script = write(tmp_path, "prog.py", """
        import sys, gmploop
        gmploop.go(sys.exit, 5)
        gmploop.Chan().recv(timeout=30)
    """)
    r = gmp(script)
    assert r.returncode == 5, r.stderr


def test_uncaught_exception(tmp_path):
    script = write(tmp_path, "prog.py", """
        def f():
            raise ValueError("boom")
        f()
    """)
    r = gmp(script)
    assert r.returncode == 1
    assert r.stderr.startswith("Traceback (most recent call last):")
    assert "ValueError: boom" in r.stderr
    assert str(script) in r.stderr
    # The launcher's and runtime's frames are left out, as python script.py does.
    assert "__main__.py" not in r.stderr and "proc.py" not in r.stderr


def test_keyboard_interrupt(tmp_path):
    script = write(tmp_path, "prog.py", "raise KeyboardInterrupt\n")
    r = gmp(script)
    assert r.returncode == 130
    assert "KeyboardInterrupt" in r.stderr


def test_deadlock_report(tmp_path):
    script = write(tmp_path, "prog.py", """
        import gmploop
        c = gmploop.Chan()
        def stuck():
            c.recv()
        gmploop.go(stuck, ).name
        c.recv()
    """)
    r = gmp(script)
    assert r.returncode == 2
    assert r.stderr.startswith("fatal error: all goroutines are asleep - deadlock!\n")
    assert "goroutine 1 [chan receive]:" in r.stderr
    assert "[chan receive]" in r.stderr.split("goroutine 1", 1)[1].split("\n\n", 1)[1]
    assert f'File "{script}", line 7, in <module>' in r.stderr
    assert f'File "{script}", line 5, in stuck' in r.stderr
    assert "__main__.py" not in r.stderr


def test_goroutine_exception_reported_program_goes_on(tmp_path):
    script = write(tmp_path, "prog.py", """
        import gmploop
        def f():
            raise KeyError("lost")
        g = gmploop.go(f)
        for _ in range(10000):  # nobody joins it before it dies
            if g.done():
                break
            gmploop.sleep(0.001)
        try:
            g.join(timeout=10)
        except KeyError:
            pass
        print("after", g.done())
    """)
    r = gmp(script)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "after True\n"
    assert "goroutine 2 [goroutine-2]:" in r.stderr
    assert "KeyError: 'lost'" in r.stderr


def test_exception_a_joiner_waits_for_is_not_reported_twice(tmp_path):
    script = write(tmp_path, "prog.py", """
        import gmploop
        def f(ch):
            ch.recv(timeout=10)
            raise KeyError("lost")
        ch = gmploop.Chan()
        g = gmploop.go(f, ch)
        def release():
            ch.send(None, timeout=10)  # after main is parked in join
        gmploop.go(release)
        try:
            g.join(timeout=10)
        except KeyError as e:
            print("joined", e)
        c = gmploop.Chan()
        h = gmploop.go(lambda: c.recv(timeout=10))
        gmploop.sleep(0.01)
        h.cancel()
        try:
            h.join(timeout=10)
        except gmploop.Canceled:
            print("cancelled")
    """)
    r = gmp(script)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "joined 'lost'\ncancelled\n"
    assert r.stderr == ""


@pytest.mark.parametrize("n", [1, 3])
def test_procs(tmp_path, n):
    script = write(tmp_path, "prog.py", "import gmploop; print(gmploop.stats()['procs'])\n")
    r = gmp("--procs", n, script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(n)
    r = gmp(f"--procs={n}", script)
    assert r.stdout.strip() == str(n)


def test_procs_default_from_environment(tmp_path):
    script = write(tmp_path, "prog.py", "import gmploop; print(gmploop.stats()['procs'])\n")
    r = gmp(script, env={"GMPLOOP_MAXPROCS": "2"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "2"


@pytest.mark.parametrize("args,msg", [
    (["--procs", "0"], "--procs must be >= 1"),
    (["--procs", "many"], "--procs must be an integer"),
    (["--procs"], "--procs needs a value"),
    (["--frobnicate", "x.py"], "unknown option"),
    ([], "no script given"),
    (["-m"], "-m needs an argument"),
    (["does_not_exist.py"], "can't open file"),
])
def test_usage_errors(tmp_path, args, msg):
    r = gmp(*args, cwd=tmp_path)
    assert r.returncode == 2
    assert msg in r.stderr


def test_asyncio_policy_and_asyncio_run(tmp_path):
    script = write(tmp_path, "prog.py", """
        import asyncio, gmploop
        from gmploop import _loop
        assert isinstance(_loop.get_policy(), gmploop.GMPPolicy)
        async def main():
            loop = asyncio.get_running_loop()
            g = gmploop.go(lambda: 6 * 7)
            return type(loop).__name__, await g
        print(*asyncio.run(main()))
    """)
    r = gmp(script)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "GMPEventLoop 42\n"


def test_nested_run_runs_in_place(tmp_path):
    # A script written for `python prog.py` ends with gmploop.run(main); under
    # the command line main runs in place in the main goroutine.
    script = write(tmp_path, "prog.py", """
        import gmploop
        top = gmploop.current()
        def main(x, y=0):
            assert gmploop.current() is top
            return x + y
        async def amain():
            return await gmploop.go(lambda: 1 + 2)
        print(gmploop.run(main, 40, y=2), gmploop.run(amain()))
        def other():
            try:
                gmploop.run(main, 1)
            except RuntimeError as e:
                return "RuntimeError"
        print(gmploop.go(other).join(timeout=10))
    """)
    r = gmp(script)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "42 3\nRuntimeError\n"


def test_nested_run_procs_for_that_call_only(tmp_path):
    script = write(tmp_path, "prog.py", """
        import gmploop
        procs = lambda: gmploop.stats()["procs"]
        print(procs(), gmploop.run(procs, procs=2), procs())
    """)
    r = gmp("--procs", 3, script)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "3 2 3\n"


def test_standalone_and_cli_agree(tmp_path):
    script = write(tmp_path, "prog.py", """
        import sys, gmploop
        def main():
            c = gmploop.Chan(3)
            for i in range(3):
                gmploop.go(c.send, i)
            print(sorted(c.recv(timeout=10) for _ in range(3)), sys.argv[1:])
        if __name__ == "__main__":
            gmploop.run(main)
    """)
    direct = subprocess.run([sys.executable, str(script), "x"], capture_output=True,
                            text=True, timeout=TIMEOUT)
    via = gmp(script, "x")
    assert direct.returncode == via.returncode == 0, (direct.stderr, via.stderr)
    assert direct.stdout == via.stdout == "[0, 1, 2] ['x']\n"


def test_module(tmp_path):
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    write(pkg, "__main__.py", """
        import sys, gmploop
        print(__name__, gmploop.current() is not None, sys.argv[1:])
    """)
    write(tmp_path, "mymod.py", """
        import sys
        print(__name__, sys.argv[0].endswith("mymod.py"), sys.argv[1:])
        raise SystemExit(4)
    """)
    r = gmp("-m", "mypkg", "a", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "__main__ True ['a']\n"
    r = gmp("--procs", "2", "-m", "mymod", "b", "c", cwd=tmp_path)
    assert r.returncode == 4, r.stderr
    assert r.stdout == "__main__ True ['b', 'c']\n"


def test_code():
    r = gmp("-c", "import sys, gmploop; print(gmploop.current().id, sys.argv)", "z")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "1 ['-c', 'z']\n"


def test_main_in_process(tmp_path, capsys):
    """main(argv) returns the status and restores sys.argv / sys.path[0]."""
    script = write(tmp_path, "prog.py", """
        import sys, gmploop
        print("in", gmploop.current() is not None, sys.argv[1:])
        sys.exit(9)
    """)
    argv, path0 = list(sys.argv), sys.path[0]
    assert cli_main([str(script), "q"]) == 9
    assert capsys.readouterr().out == "in True ['q']\n"
    assert sys.argv == argv and sys.path[0] == path0
    assert cli_main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("gmploop ")
    from gmploop import _loop  # reads the policy without 3.14's deprecation warning
    assert not isinstance(_loop.get_policy(), gmploop.GMPPolicy)
    assert gmploop.run is not None and gmploop.run.__module__ == "gmploop._go"

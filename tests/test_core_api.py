"""The public surface: exports match API.md, the core never imports the public
layers, public classes say they are gmploop's."""

import ast
import pathlib

import gmploop

ROOT = pathlib.Path(__file__).resolve().parent.parent

TOP = """run go Goroutine current gosched sleep num_goroutine set_max_procs blocking await_
shutdown excepthook Chan Closed Recv Send select aselect after Timer Ticker WaitGroup Mutex
RWMutex Once Semaphore Group background with_cancel with_timeout with_deadline with_value
Context Canceled DeadlineExceeded Deadlock new_event_loop GMPPolicy GMPEventLoop install
stats dump_goroutines""".split()


def test_every_api_name_is_exported():
    missing = [n for n in TOP if not hasattr(gmploop, n)]
    assert missing == []
    assert set(TOP) <= set(gmploop.__all__)
    import gmploop.lowlevel as low
    import gmploop.net as net
    for n in ("listen", "dial", "Listener", "Conn"):
        assert hasattr(net, n)
    for n in ("park", "ready", "GStatus"):
        assert hasattr(low, n)


def test_all_names_exist():
    for n in gmploop.__all__:
        assert hasattr(gmploop, n), n


def test_exception_hierarchy():
    assert issubclass(gmploop.Closed, Exception)
    assert issubclass(gmploop.Deadlock, RuntimeError)
    assert issubclass(gmploop.DeadlineExceeded, TimeoutError)


def test_public_classes_report_gmploop_module():
    for n in ("Chan", "Closed", "Goroutine", "Deadlock", "Recv", "Send", "Timer",
              "Ticker", "GMPEventLoop", "GMPPolicy"):
        assert getattr(gmploop, n).__module__ == "gmploop", n


def test_core_does_not_import_public_layers():
    """gmploop/_runtime is the private core: it must never import the layers
    built on it (STYLE.md: trio's _core / curio's kernel)."""
    core = ROOT / "gmploop" / "_runtime"
    files = sorted(core.glob("*.py"))
    # The mechanisms split out of the scheduler are checked like the rest.
    assert {"proc.py", "sysmon.py", "traceback.py", "netpoll.py", "sema.py",
            "runq.py", "timers.py"} <= {p.name for p in files}
    bad = []
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                mod = node.module or ""
                if node.level >= 2 or mod.startswith("gmploop.") and not mod.startswith("gmploop._runtime"):
                    bad.append(f"{path.name}: from {'.' * node.level}{mod}")
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("gmploop") and not a.name.startswith("gmploop._runtime"):
                        bad.append(f"{path.name}: import {a.name}")
    assert bad == []


def test_py_typed_shipped():
    assert (ROOT / "gmploop" / "py.typed").exists()

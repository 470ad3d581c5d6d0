import sys
import pytest

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        sys.stderr.write(f"\nFAILREPORT {item.nodeid} {report.when}:\n{str(report.longrepr)[-3000:]}\n")
        sys.stderr.flush()

import asyncio, threading, io

@pytest.fixture(autouse=True)
async def _watch_stuck():
    loop = asyncio.get_running_loop()
    stop = threading.Event()
    def dump():
        for task in asyncio.all_tasks(loop):
            out = io.StringIO()
            task.print_stack(limit=6, file=out)
            sys.stderr.write(f"TASK {task.get_name()}:\n{out.getvalue()}\n")
        sys.stderr.flush()
    def watch():
        while not stop.wait(30):
            loop.call_soon_threadsafe(dump)
    threading.Thread(target=watch, daemon=True).start()
    yield
    stop.set()

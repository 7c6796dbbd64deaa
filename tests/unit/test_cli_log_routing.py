"""The local commands' handler logs go to their log file, never into the command's own stdout."""
from __future__ import annotations

import contextlib
import io
import logging

from postloop.runtime.observability import logger
from postloop_local import cli


def _warn_inside(tmp_path, quiet):
    out = io.StringIO()
    log = tmp_path / "run.log"
    handlers = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    saved = [h.stream for h in handlers]
    # The logger keeps the stream it was built with; stand one in for the terminal's stdout.
    for h in handlers:
        h.setStream(out)
    try:
        ctx = cli._quiet_handlers(log) if quiet else contextlib.redirect_stdout(log.open("a"))
        with ctx:
            logger.warning("model cache write failed; plan reads the durable copy")
            print('{"_aws": "an EMF line"}')
    finally:
        for h, stream in zip(handlers, saved):
            h.setStream(stream)
    return out.getvalue(), log.read_text()


def test_handler_warnings_and_metrics_go_to_the_log_file_not_stdout(tmp_path):
    stdout, logged = _warn_inside(tmp_path, quiet=True)
    assert stdout == ""
    assert "model cache write failed" in logged and "an EMF line" in logged


def test_redirecting_stdout_alone_lets_the_warnings_through(tmp_path):
    # What `postloop faults --json` did before: its JSON was preceded by the handlers' warnings.
    stdout, _ = _warn_inside(tmp_path, quiet=False)
    assert "model cache write failed" in stdout

#!/usr/bin/env python3
"""The CDK app's entry point (cdk.json runs it with the project's .venv)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

# postloop_infra sits next to this file; postloop (the core) comes from the .venv.
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def main() -> int:
    from postloop.core.account import ConfigError
    from postloop_infra.options import OptionsError
    from postloop_infra.stack import build_app

    try:
        app, _ = build_app()
    except (ConfigError, OptionsError) as err:
        # A clear line instead of a traceback: the message names the file and the field.
        print(f"postloop: cannot synthesize: {err}", file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())

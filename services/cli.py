"""The `townhall` command. `live` is special: gevent must patch the standard library before
anything else is imported, so `main` does that before loading the commands."""
from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["live"]:
        import os

        from gevent import monkey

        monkey.patch_all()
        # psycopg waits through gevent's select() rather than its poll() emulation: about 40 % less
        # CPU per pipelined join transaction (measured; docs/benchmarks.md). A psycopg built-in,
        # chosen with psycopg's own variable, before psycopg is imported.
        os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
    from services.commands import cli
    from services.ops.config import ConfigError

    try:
        cli(standalone_mode=True)
    except ConfigError as exc:
        print(f"townhall: error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()

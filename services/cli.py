"""The `townhall` command. `live` is special: gevent must patch the standard library before
anything else is imported, so `main` does that before loading the commands."""
from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["live"]:
        from gevent import monkey

        monkey.patch_all()
    from services.commands import cli
    from services.config import ConfigError

    try:
        cli(standalone_mode=True)
    except ConfigError as exc:
        print(f"townhall: error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
